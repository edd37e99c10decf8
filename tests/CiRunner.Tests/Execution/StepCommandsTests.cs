using CiRunner.Execution;
using CiRunner.Matrix;

namespace CiRunner.Tests.Execution;

public sealed class StepCommandsTests
{
    [Theory]
    [InlineData(StepKind.Apply, 0, JobResult.Success)]
    [InlineData(StepKind.Apply, 2, JobResult.Success)]
    [InlineData(StepKind.Apply, 1, JobResult.Failure)]
    [InlineData(StepKind.Apply, 4, JobResult.Failure)]
    [InlineData(StepKind.Apply, 6, JobResult.Failure)]
    [InlineData(StepKind.Idempotency, 0, JobResult.Success)]
    [InlineData(StepKind.Idempotency, 2, JobResult.Failure)]
    [InlineData(StepKind.Idempotency, 4, JobResult.Failure)]
    [InlineData(StepKind.Idempotency, 6, JobResult.Failure)]
    [InlineData(StepKind.Command, 0, JobResult.Success)]
    [InlineData(StepKind.Command, 1, JobResult.Failure)]
    [InlineData(StepKind.Command, 3, JobResult.Failure)]
    [InlineData(StepKind.Apply, 125, JobResult.Error)]
    [InlineData(StepKind.Idempotency, 126, JobResult.Error)]
    [InlineData(StepKind.Command, 127, JobResult.Error)]
    public void Interpret_ExitCode_MapsToResult(StepKind kind, long exitCode, JobResult expected)
    {
        (JobResult result, string? message) = StepCommands.Interpret(kind, exitCode);

        Assert.Equal(expected, result);
        Assert.Equal(expected == JobResult.Success, message is null);
    }

    [Fact]
    public void For_ApplyStep_RunsPuppetWithDetailedExitCodesAndTheJobsModulePath()
    {
        IReadOnlyList<string> command = StepCommands.For(new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(1)), "scenario001.pp");

        Assert.Equal(
            ["puppet", "apply", "--detailed-exitcodes", "--color=false", "--modulepath", "/cirunner/modules", "/cirunner/scenario/scenario001.pp"],
            command);
    }

    [Fact]
    public void For_NoopApply_AddsNoopBeforeTheManifest()
    {
        IReadOnlyList<string> command = StepCommands.For(new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(1), Noop: true), "keystone-noop.pp");

        Assert.Equal(["puppet", "apply", "--noop", "--detailed-exitcodes", "--color=false", "--modulepath", "/cirunner/modules", "/cirunner/scenario/keystone-noop.pp"], command);
    }

    [Fact]
    public void For_CommandStep_RunsTheArgumentArrayAsGiven()
    {
        IReadOnlyList<string> command = StepCommands.For(new StepDefinition(StepKind.Command, "check", ["sh", "-c", "test -f /etc/x"], TimeSpan.FromMinutes(1)), null);

        Assert.Equal(["sh", "-c", "test -f /etc/x"], command);
    }

    [Fact]
    public void For_ApplyStepWithoutManifest_Throws()
    {
        Assert.Throws<ArgumentException>(() => StepCommands.For(new StepDefinition(StepKind.Idempotency, "again", [], TimeSpan.FromMinutes(1)), null));
    }
}
