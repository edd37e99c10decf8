using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// An upgrade-only failure on the real engine (see DOMAIN-NOTES): version 1 of the module makes /etc/demo/conf.d a
/// directory, version 2 declares it a file. Version 2 deploys cleanly on a fresh container, and fails only when it
/// upgrades version 1's state, which is what upgrade cells are for.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class UpgradePipelineTests : IDisposable
{
    private const string Version1 = """
        class demo {
          file { ['/etc/demo', '/etc/demo/conf.d']: ensure => directory }
        }
        """;

    private const string Version2 = """
        class demo {
          file { '/etc/demo': ensure => directory }
          file { '/etc/demo/conf.d': ensure => file, content => "v2\n" }
        }
        """;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly string _v1;
    private readonly string _v2;

    public UpgradePipelineTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("remotes", "puppet-demo");
        _v1 = GitRepositories.Create(_repository, "stable/v1", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = Version1,
        });
        using (var repository = new Repository(_repository))
        {
            Commands.Checkout(repository, repository.CreateBranch("master"));
        }

        _v2 = GitRepositories.Commit(_repository, new Dictionary<string, string> { ["manifests/init.pp"] = Version2 }, "v2: conf.d is a file");
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Trigger_UpgradeOnlyRegression_DeployCellPassesUpgradeCellFailsInPhaseUpgrade()
    {
        CiRunnerSettings settings = WriteSettings();
        await using WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        try
        {
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", _v2, RequestedBy: "test"), CancellationToken.None);
            Assert.Equal(["2023.1/conf", "zed->2023.1/conf:upgrade", "zed->2023.1/conf:rollback"], run.Jobs.Select(j => j.CellKey));

            await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id);
            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            JobDetail deploy = (await jobs.GetDetailAsync(run.Jobs[0].Id, CancellationToken.None))!;
            JobDetail upgrade = (await jobs.GetDetailAsync(run.Jobs[1].Id, CancellationToken.None))!;

            Assert.True(deploy.Job.Result == JobResult.Success, deploy.Job.Summary);
            Assert.Equal(JobResult.Failure, upgrade.Job.Result);
            Assert.Contains("phase upgrade", upgrade.Job.Summary, StringComparison.Ordinal);
            Assert.Contains("Is a directory", upgrade.Job.Summary, StringComparison.Ordinal);
            Assert.Equal(
                [("deploy", "apply", JobResult.Success), ("deploy", "idempotency", JobResult.Success), ("upgrade", "apply", JobResult.Failure)],
                upgrade.Steps.Select(s => (s.Phase, s.Name, s.Result)).Take(3));
            Assert.Equal([("deploy", _v1), ("upgrade", _v2)], upgrade.Modules.Select(m => (m.Phase, m.CommitSha)));
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            await app.StopAsync();
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(_instanceId);
        }
    }

    private CiRunnerSettings WriteSettings()
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'stable/v1'\n");
        _folder.Write("scenarios/puppetfiles/2023.1.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/conf.pp", "include demo\n");
        _folder.Write("scenarios/conf.yaml", "name: conf\nmanifest: conf.pp\nmodules: [demo]\nupgrade: true\nrollback: true\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master", "stable/*") }),
            ["Releases"] = new JsonArray(
                new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("stable/v1"), ["Image"] = _engine.PuppetImage },
                new JsonObject { ["Name"] = "2023.1", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 2, ["MemoryMb"] = 512 },
            ["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{FreePort.Next()}" },
        };
        string configFile = _folder.Write("appsettings.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return loaded.Settings!;
    }
}
