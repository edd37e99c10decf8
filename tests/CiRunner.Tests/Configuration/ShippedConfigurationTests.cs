using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>The appsettings.json, Puppetfiles and scenarios in the repository are what operators start from.</summary>
public sealed class ShippedConfigurationTests
{
    private static readonly string _configFile = Path.Combine(RepositoryRoot.Path, "appsettings.json");

    [Fact]
    public void ShippedConfiguration_Validates()
    {
        ConfigurationLoadResult result = ConfigurationLoader.Load(_configFile);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors.Select(e => e.Format(result.BaseDirectory))));
    }

    [Fact]
    public void ShippedReleases_FollowUpstreamBranchFacts()
    {
        CiRunnerSettings settings = Load();

        Assert.Equal(["zed", "2023.1", "2023.2", "2024.1", "2024.2", "2025.1", "2025.2", "2026.1", "2026.2"], settings.Releases.Select(r => r.Name));
        Assert.Equal(["2023.1", "2024.1", "2025.1", "2026.1"], settings.Releases.Where(r => r.IsSlurp).Select(r => r.Name));
        Assert.Equal("2026.2", Assert.Single(settings.Releases, r => r.IsDevelopment).Name);
        Assert.Equal(["unmaintained/zed", "zed-eol"], settings.FindRelease("zed")!.BranchCandidates);
        Assert.Equal(["unmaintained/2023.1", "2023.1-eol"], settings.FindRelease("2023.1")!.BranchCandidates);
        Assert.Equal(["2023.2-eol"], settings.FindRelease("2023.2")!.BranchCandidates);
        Assert.All(settings.Releases.Skip(3).SkipLast(1), r => Assert.Equal($"stable/{r.Name}", r.BranchCandidates[0]));
        Assert.All(settings.Releases, r => Assert.Equal($"cirunner/release:{r.Name}", r.Image));
    }

    [Fact]
    public void ShippedModules_AreUpstreamRepositoriesTrackingMasterStableAndUnmaintained()
    {
        CiRunnerSettings settings = Load();

        Assert.Superset(new HashSet<string> { "keystone", "glance", "nova", "neutron", "openstacklib", "oslo" }, settings.Modules.Select(m => m.Name).ToHashSet());
        Assert.All(settings.Modules, m =>
        {
            Assert.Equal($"https://opendev.org/openstack/puppet-{m.Name}", m.Url);
            Assert.Equal(["master", "stable/*", "unmaintained/*"], m.Branches.Select(b => b.Pattern));
        });
    }

    [Fact]
    public void ShippedPuppetfiles_PinOpenStackModulesToTheReleaseBranchAndExternalOnesToTags()
    {
        CiRunnerSettings settings = Load();

        foreach (Release release in settings.Releases)
        {
            foreach (TrackedModule module in settings.Modules)
            {
                PuppetfileModule? entry = release.Puppetfile.Find(module.Name);
                Assert.True(entry is not null, $"{module.Name} missing from {release.Puppetfile.Path}");
                Assert.Equal(release.BranchCandidates[0], entry.Ref);
            }

            bool IsOpenStack(PuppetfileModule m) => m.Git!.StartsWith("https://opendev.org/openstack/puppet-", StringComparison.Ordinal);
            Assert.All(release.Puppetfile.Modules.Where(IsOpenStack), m => Assert.Equal(release.BranchCandidates[0], m.Ref));
            Assert.All(release.Puppetfile.Modules.Where(m => !IsOpenStack(m)), m => Assert.Matches(@"^v?\d+\.\d+\.\d+$", m.Ref));
        }
    }

    [Fact]
    public void ShippedScenarios_IncludeScenario001AndTheKeystoneDemo()
    {
        CiRunnerSettings settings = Load();

        Scenario scenario001 = Assert.Single(settings.Scenarios, s => s.Name == "scenario001");
        Assert.Superset(new HashSet<string> { "keystone", "glance", "nova", "neutron" }, scenario001.Modules.ToHashSet());
        Assert.Equal([StepKind.Apply, StepKind.Idempotency], scenario001.Steps.Take(2).Select(s => s.Kind));
        Scenario demo = Assert.Single(settings.Scenarios, s => s.Name == "keystone-noop");
        Assert.Contains("keystone", demo.Modules);
    }

    [Theory]
    [InlineData("scenario001", new[] { "keystone", "glance", "nova", "neutron", "placement" })]
    [InlineData("scenario002", new[] { "swift", "cinder", "barbican", "ironic", "zaqar", "ceilometer", "aodh", "gnocchi", "redis" })]
    [InlineData("scenario003", new[] { "horizon", "heat", "designate", "mistral", "trove", "magnum" })]
    [InlineData("scenario004", new[] { "ceph", "watcher", "nova", "glance" })]
    [InlineData("scenario005", new[] { "ovn", "vswitch", "octavia", "manila", "cinder", "horizon" })]
    public void ShippedScenarios_ModelUpstreamScenariosWithTheirServicesOnEveryRelease(string name, string[] services)
    {
        CiRunnerSettings settings = Load();

        Scenario scenario = Assert.Single(settings.Scenarios, s => s.Name == name);
        Assert.Superset(services.ToHashSet(), scenario.Modules.ToHashSet());
        Assert.Equal([StepKind.Apply, StepKind.Idempotency], scenario.Steps.Select(s => s.Kind));
        Assert.NotEmpty(scenario.Verify);
        Assert.Empty(scenario.Releases);
        Assert.All(settings.Releases, r => Assert.All(scenario.Modules, m => Assert.True(r.Puppetfile.Find(m) is not null, $"{m} missing from {r.Puppetfile.Path}")));
        Assert.Null(scenario.Network);
    }

    private static CiRunnerSettings Load()
    {
        ConfigurationLoadResult result = ConfigurationLoader.Load(_configFile);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Settings;
    }
}
