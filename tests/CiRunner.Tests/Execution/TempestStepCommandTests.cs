using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>What a tempest step runs in the container, and how its exit code and script end are read (pure).</summary>
public sealed class TempestStepCommandTests
{
    private static readonly StepDefinition Step = new(StepKind.Tempest, "tempest", [], TimeSpan.FromMinutes(30))
    {
        Tempest = new TempestSettings("keystone-glance/tempest.conf", [@"^tempest\.api\.identity\..*\[.*\bsmoke\b.*\]", "test_list_versions"], ["test_credentials_create_get_update_delete"], 2),
    };

    [Fact]
    public void For_TempestStep_RunsTheScriptWithTheScenariosConfigWorkersAndRegexes()
    {
        IReadOnlyList<string> command = StepCommands.For(Step, "keystone-glance.pp");

        Assert.Equal(["sh", "-c"], command.Take(2));
        Assert.Equal(
            ["tempest", "/cirunner/scenario/keystone-glance/tempest.conf", "2", @"+^tempest\.api\.identity\..*\[.*\bsmoke\b.*\]", "+test_list_versions", "-test_credentials_create_get_update_delete"],
            command.Skip(3));
        string script = command[2];
        Assert.Contains("tempest run --config-file \"$c\" --concurrency \"$w\" --include-list ../include-list --exclude-list ../exclude-list; rc=$?", script, StringComparison.Ordinal);
        Assert.Contains("stestr last --subunit > ../results.subunit", script, StringComparison.Ordinal);
        Assert.Contains("subunit2junitxml < ../results.subunit > ../results.xml", script, StringComparison.Ordinal);
        Assert.Contains("exit 127", script, StringComparison.Ordinal);
        Assert.EndsWith("exit $rc", script, StringComparison.Ordinal);
        Assert.Equal(StepCommands.TempestDirectory + "/results.xml", StepCommands.TempestResultsPath);
    }

    [Fact]
    public void For_TempestStepWithAConfigPuppetWrote_UsesThatPathInTheContainer()
    {
        StepDefinition step = Step with { Tempest = Step.Tempest! with { ConfigPath = "/var/lib/tempest/etc/tempest.conf" } };

        Assert.Equal("/var/lib/tempest/etc/tempest.conf", StepCommands.For(step, null)[4]);
    }

    [Fact]
    public void For_TempestStepWithoutSettings_Throws()
    {
        Assert.Throws<ArgumentException>(() => StepCommands.For(Step with { Tempest = null }, null));
    }

    [Theory]
    [InlineData(0, JobResult.Success)]
    [InlineData(1, JobResult.Failure)]
    [InlineData(5, JobResult.Failure)]
    [InlineData(127, JobResult.Error)]
    public void Interpret_TempestExitCode_IsWhatTheExitCodeAloneSays(long exitCode, JobResult expected)
    {
        (JobResult result, string? message) = StepCommands.Interpret(StepKind.Tempest, exitCode);

        Assert.Equal(expected, result);
        Assert.Equal(expected == JobResult.Success, message is null);
    }

    [Fact]
    public void Render_TempestIsTheLastStep_TheScriptWaitsSoItsResultsCanBeRead()
    {
        // Given a job whose last step is a tempest step
        using var folder = new TempDirectory();
        JobSpec job = TestJobs.Job("i", "image", folder, phases: TestJobs.Phase("deploy", null, [], [], TestJobs.Command("a", "true"), Step));

        // When its script is rendered
        string[] lines = StepScript.Render(job, "n0nce").Split('\n');

        // Then it waits after the tempest step, and the container is killed, not left to end by itself
        Assert.Equal(["proceed", "exec sleep infinity", ""], lines[^3..]);
        Assert.False(StepScript.EndsOnItsOwn(job));
        Assert.True(StepCommands.LeavesFilesToRead(StepKind.Tempest));
        Assert.False(StepCommands.LeavesFilesToRead(StepKind.Command));
    }
}
