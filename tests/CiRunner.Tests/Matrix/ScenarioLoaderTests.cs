using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Matrix;

public sealed class ScenarioLoaderTests
{
    [Fact]
    public void Load_StepsOmitted_DefaultsToApplyThenIdempotency()
    {
        using var folder = new ConfigFolder();

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario basic = Assert.Single(result.Scenarios, s => s.Name == "basic");
        Assert.Equal(
            [
                new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(30)),
                new StepDefinition(StepKind.Idempotency, "idempotency", [], TimeSpan.FromMinutes(30)),
            ],
            basic.Steps);
        Assert.True(basic.Upgrade);
        Assert.Empty(basic.Releases);
        Assert.Equal(Path.Combine(folder.Root, "scenarios", "basic.pp"), basic.ManifestPath);
        Assert.Equal(Path.Combine(folder.Root, "scenarios", "basic.yaml"), basic.SourcePath);
        Assert.Equal("keystone on every release", basic.Description);
    }

    [Fact]
    public void Load_DocumentedFormat_ReadsEveryField()
    {
        using var folder = new ConfigFolder();
        folder.Write("scenarios/full.yaml", """
            name: scenario001
            description: the full form
            manifest: basic.pp                 # beside the file
            modules: [keystone, puppetlabs-stdlib]
            releases: [zed, 2023.1]
            upgrade: false
            steps:
              - apply                          # shorthand
              - idempotency
              - type: command
                name: keystone config present
                command: [test, -f, /etc/keystone/keystone.conf]
                timeout: 2m
              - type: command
                command: [true]
              - type: apply
                timeout: 1h30m
              - type: idempotency
                name: second look
                timeout: "00:45:00"
            """);

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios, s => s.Name == "scenario001");
        Assert.Equal(["keystone", "stdlib"], scenario.Modules);
        Assert.Equal(["zed", "2023.1"], scenario.Releases);
        Assert.False(scenario.Upgrade);
        Assert.Equal(
            [
                new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(30)),
                new StepDefinition(StepKind.Idempotency, "idempotency", [], TimeSpan.FromMinutes(30)),
                new StepDefinition(StepKind.Command, "keystone config present", ["test", "-f", "/etc/keystone/keystone.conf"], TimeSpan.FromMinutes(2)),
                new StepDefinition(StepKind.Command, "true", ["true"], TimeSpan.FromMinutes(10)),
                new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(90)),
                new StepDefinition(StepKind.Idempotency, "second look", [], TimeSpan.FromMinutes(45)),
            ],
            scenario.Steps,
            new StepComparer());
    }

    [Fact]
    public void Load_SeedVerifyAndNetwork_AreCommandStepsNamedAfterTheirList()
    {
        using var folder = new ConfigFolder();
        folder.Write("scenarios/workload.yaml", """
            name: workload
            manifest: basic.pp
            modules: [keystone]
            network: host
            seed:
              - name: make a project
                command: [sh, -c, "echo demo > /srv/project"]
                timeout: 2m
              - [touch, /srv/seeded]
            verify:
              - type: command
                command: [test, -f, /srv/project]
            """);

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios, s => s.Name == "workload");
        Assert.Equal("host", scenario.Network);
        Assert.Equal(["apply", "idempotency"], scenario.Steps.Select(s => s.Name));
        Assert.Equal(
            [
                new StepDefinition(StepKind.Command, "make a project", ["sh", "-c", "echo demo > /srv/project"], TimeSpan.FromMinutes(2)),
                new StepDefinition(StepKind.Command, "seed: touch /srv/seeded", ["touch", "/srv/seeded"], TimeSpan.FromMinutes(10)),
            ],
            scenario.Seed,
            new StepComparer());
        Assert.Equal(
            [new StepDefinition(StepKind.Command, "verify: test -f /srv/project", ["test", "-f", "/srv/project"], TimeSpan.FromMinutes(10))],
            scenario.Verify,
            new StepComparer());
        Assert.Null(Assert.Single(result.Scenarios, s => s.Name == "basic").Network);
    }

    [Theory]
    [InlineData("seed: [apply]", "line 4, seed[0]", "apply", "a command step")]
    [InlineData("verify:\n  - type: idempotency", "line 5, verify[0].type", "idempotency", "seed and verify lists hold command steps")]
    [InlineData("verify:\n  - name: no command", "line 5, verify[0].command", null, "an argument list")]
    [InlineData("verify: []", "line 4, verify", "[]", "a non-empty list of command steps")]
    [InlineData("seed:\n  - []", "line 5, seed[0]", "[]", "a non-empty argument list")]
    [InlineData("network: container:abc", "line 4, network", "container:abc", "a Docker network: none, host, bridge")]
    public void Load_BadSeedVerifyOrNetwork_NamesTheLineKeyAndValue(string yaml, string location, string? value, string expected)
    {
        using var folder = new ConfigFolder();
        folder.Write("scenarios/workload.yaml", "name: workload\nmanifest: basic.pp\nmodules: [keystone]\n" + yaml + "\n");

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.EndsWith("workload.yaml", error.File, StringComparison.Ordinal);
        Assert.Equal((location, value), (error.Location, error.Value));
        Assert.Contains(expected, error.Expected, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Scenarios, s => s.Name == "workload");
    }

    [Fact]
    public void Load_InitAndFiles_AreReadAsFullPathsBesideTheScenario()
    {
        using var folder = new ConfigFolder();
        folder.Write("scenarios/real/seed.sh", "echo seed\n");
        folder.Write("scenarios/openrc", "export OS_AUTH_URL=x\n");
        folder.Write("scenarios/real.yaml", """
            name: real
            manifest: basic.pp
            modules: [keystone]
            init: systemd
            files: [real/seed.sh, openrc]
            """);

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios, s => s.Name == "real");
        Assert.Equal(InitSystem.Systemd, scenario.Init);
        Assert.Equal(
            [Path.Combine(folder.Root, "scenarios", "real", "seed.sh"), Path.Combine(folder.Root, "scenarios", "openrc")],
            scenario.Files);
        Assert.Null(Assert.Single(result.Scenarios, s => s.Name == "basic").Init);
    }

    [Fact]
    public void Load_ParsedOnly_KeepsTheReasonsAndGetsNoCells()
    {
        using var folder = new ConfigFolder();
        folder.Write("scenarios/ceph.yaml", """
            name: ceph
            manifest: basic.pp
            modules: [keystone]
            parsed-only:
              - "ceph: OSDs need block devices"
            """);

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios, s => s.Name == "ceph");
        Assert.Equal(["ceph: OSDs need block devices"], scenario.ParsedOnly);
        Assert.False(scenario.Runnable);
        Assert.True(Assert.Single(result.Scenarios, s => s.Name == "basic").Runnable);
    }

    [Theory]
    [InlineData("init: sysvinit", "line 4, init", "sysvinit", "none (the step script is PID 1) or systemd")]
    [InlineData("files: [missing.sh]", "line 4, files", "missing.sh", "an existing file beside the scenario file")]
    [InlineData("files: [../outside.sh]", "line 4, files", "../outside.sh", "inside it (no absolute path, no ..)")]
    [InlineData("files: [/etc/passwd]", "line 4, files", "/etc/passwd", "inside it (no absolute path, no ..)")]
    [InlineData("files: [basic.pp]", "line 4, files", "basic.pp", "each file once (the manifest is copied anyway)")]
    public void Load_BadInitOrFiles_NamesTheLineKeyAndValue(string yaml, string location, string value, string expected)
    {
        using var folder = new ConfigFolder();
        folder.Write("outside.sh", "echo out\n");
        folder.Write("scenarios/workload.yaml", "name: workload\nmanifest: basic.pp\nmodules: [keystone]\n" + yaml + "\n");

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal((location, value), (error.Location, error.Value));
        Assert.Contains(expected, error.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SeveralFilesBroken_ReportsEveryFile()
    {
        using var folder = new ConfigFolder();
        folder.Write("scenarios/a.yaml", "name: a\nmanifest: basic.pp\nmodules: [keystone]\nsteps: [deploy]\n");
        folder.Write("scenarios/b.yaml", "- just\n- a list\n");

        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        Assert.Contains(result.Errors, e => e.File.EndsWith("a.yaml", StringComparison.Ordinal) && e.Location == "line 4, steps[0]" && e.Value == "deploy");
        Assert.Contains(result.Errors, e => e.File.EndsWith("b.yaml", StringComparison.Ordinal) && e.Location == "line 1" && e.Value == "a list");
        Assert.Equal(2, result.Scenarios.Count);
    }

    [Fact]
    public void Load_NoScenarioFiles_IsAnError()
    {
        using var folder = new ConfigFolder();
        string empty = Path.Combine(folder.Root, "empty");
        Directory.CreateDirectory(empty);

        ScenarioLoadResult result = ScenarioLoader.Load(empty, releases: null);

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Contains("at least one scenario file", error.Expected, StringComparison.Ordinal);
    }

    // Records compare lists by reference; steps are equal when their parts are.
    private sealed class StepComparer : IEqualityComparer<StepDefinition>
    {
        public bool Equals(StepDefinition? x, StepDefinition? y) =>
            x is not null && y is not null && x.Kind == y.Kind && x.Name == y.Name && x.Timeout == y.Timeout && x.Command.SequenceEqual(y.Command);

        public int GetHashCode(StepDefinition obj) => HashCode.Combine(obj.Kind, obj.Name);
    }
}
