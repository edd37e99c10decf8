using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Matrix;

/// <summary>The <c>type: tempest</c> step in scenario files: its defaults, its keys, and the errors a bad one gets.</summary>
public sealed class TempestStepLoaderTests
{
    private const string Head = "name: smoke\nmanifest: basic.pp\nmodules: [keystone]\n";

    [Fact]
    public void Load_PlainTempestStep_RunsTheIdentityAndImageSmokeTestsWithTheConfigBesideTheScenario()
    {
        // Given a scenario whose steps end with a plain "tempest", and a tempest.conf beside it
        using var folder = new ConfigFolder();
        folder.Write("scenarios/tempest.conf", "[auth]\n");
        folder.Write("scenarios/smoke.yaml", Head + "steps: [apply, idempotency, tempest]\n");

        // When it is loaded
        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        // Then the step has the defaults, and the configuration is copied with the scenario's files
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios, s => s.Name == "smoke");
        StepDefinition step = scenario.Steps[2];
        Assert.Equal((StepKind.Tempest, "tempest", TimeSpan.FromMinutes(30)), (step.Kind, step.Name, step.Timeout));
        Assert.Empty(step.Command);
        TempestSettings tempest = Assert.IsType<TempestSettings>(step.Tempest);
        Assert.Equal("tempest.conf", tempest.ConfigPath);
        Assert.Equal([@"^tempest\.api\.identity\..*\[.*\bsmoke\b.*\]", @"^tempest\.api\.image\..*\[.*\bsmoke\b.*\]"], tempest.Include);
        Assert.Empty(tempest.Exclude);
        Assert.Equal(2, tempest.Concurrency);
        Assert.Equal([Path.Combine(folder.Root, "scenarios", "tempest.conf")], scenario.Files);
        Assert.All(scenario.Steps.Take(2), s => Assert.Null(s.Tempest));
    }

    [Fact]
    public void Load_TempestMapping_ReadsEveryKey()
    {
        // Given a tempest step with every key, its configuration in a folder beside the scenario that files also lists
        using var folder = new ConfigFolder();
        folder.Write("scenarios/smoke/tempest.conf", "[auth]\n");
        folder.Write("scenarios/smoke/seed.sh", "true\n");
        folder.Write("scenarios/smoke.yaml", Head + """
            files: [smoke/seed.sh, smoke/tempest.conf]
            steps:
              - apply
              - type: tempest
                name: identity API
                config: smoke/tempest.conf
                include: ['^tempest\.api\.identity\.', 'test_list_versions']
                exclude:
                  - test_credentials_create_get_update_delete
                concurrency: 4
                timeout: 45m
              - type: tempest
                config: /var/lib/tempest/etc/tempest.conf
            """);

        // When it is loaded
        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        // Then each key is taken as written; a path in the container is left for the job, and no file is copied twice
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios, s => s.Name == "smoke");
        StepDefinition custom = scenario.Steps[1];
        Assert.Equal((StepKind.Tempest, "identity API", TimeSpan.FromMinutes(45)), (custom.Kind, custom.Name, custom.Timeout));
        Assert.Equal("smoke/tempest.conf", custom.Tempest!.ConfigPath);
        Assert.Equal([@"^tempest\.api\.identity\.", "test_list_versions"], custom.Tempest.Include);
        Assert.Equal(["test_credentials_create_get_update_delete"], custom.Tempest.Exclude);
        Assert.Equal(4, custom.Tempest.Concurrency);
        Assert.Equal("/var/lib/tempest/etc/tempest.conf", scenario.Steps[2].Tempest!.ConfigPath);
        Assert.Equal(
            [Path.Combine(folder.Root, "scenarios", "smoke", "seed.sh"), Path.Combine(folder.Root, "scenarios", "smoke", "tempest.conf")],
            scenario.Files);
    }

    [Theory]
    [InlineData("steps: [tempest]", "line 4, steps[0].config", "tempest.conf", "an existing Tempest configuration file beside the scenario file")]
    [InlineData("steps:\n  - type: tempest\n    config: ../tempest.conf", "line 6, steps[0].config", "../tempest.conf", "inside it (no ..)")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    include: '^tempest'", "line 7, steps[0].include", "^tempest", "a non-empty list of regular expressions")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    include: []", "line 7, steps[0].include", "[]", "a non-empty list of regular expressions")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    include: ['tempest\\.api\\.(identity']", "line 7, steps[0].include", "tempest\\.api\\.(identity", "a regular expression (")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    exclude: ['test_x # flaky']", "line 7, steps[0].exclude", "test_x # flaky", "without '#'")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    concurrency: 0", "line 7, steps[0].concurrency", "0", "a whole number of Tempest workers from 1 to 64")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    concurrency: two", "line 7, steps[0].concurrency", "two", "a whole number of Tempest workers")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    command: [tempest, run]", "line 7, steps[0].command", "a list", "no command: only type: command steps run one")]
    [InlineData("steps:\n  - type: tempest\n    config: present.conf\n    noop: true", "line 7, steps[0].noop", "true", "only apply and idempotency steps take it")]
    [InlineData("steps:\n  - type: apply\n    include: ['^tempest']", "line 6, steps[0].include", "a list", "no include: only type: tempest steps take it")]
    [InlineData("steps:\n  - type: command\n    command: [true]\n    concurrency: 2", "line 7, steps[0].concurrency", "2", "no concurrency: only type: tempest steps take it")]
    [InlineData("verify:\n  - type: tempest", "line 5, verify[0].type", "tempest", "apply, idempotency and tempest belong under steps")]
    [InlineData("steps:\n  - type: tempests", "line 5, steps[0].type", "tempests", "a step type: apply, idempotency, command or tempest")]
    public void Load_BadTempestStep_NamesTheLineKeyAndValue(string yaml, string location, string? value, string expected)
    {
        // Given a scenario with one thing wrong about a tempest step (present.conf exists beside it)
        using var folder = new ConfigFolder();
        folder.Write("scenarios/present.conf", "[auth]\n");
        folder.Write("scenarios/smoke.yaml", Head + yaml + "\n");

        // When it is loaded
        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        // Then that one thing is the error, with the file, line, key and value, and the scenario is left out
        ConfigurationError error = Assert.Single(result.Errors);
        Assert.EndsWith("smoke.yaml", error.File, StringComparison.Ordinal);
        Assert.Equal((location, value), (error.Location, error.Value));
        Assert.Contains(expected, error.Expected, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Scenarios, s => s.Name == "smoke");
    }
}
