using CiRunner.Execution;
using CiRunner.Matrix;

namespace CiRunner.Tests.Execution;

/// <summary>What a job must be before the executor starts it.</summary>
public sealed class JobValidationTests
{
    private static readonly StepDefinition Command = new(StepKind.Command, "check", ["true"], TimeSpan.FromMinutes(1));

    [Fact]
    public void Validate_WellFormedJob_IsNull()
    {
        Assert.Null(JobValidation.Validate(Job(new JobPhase("deploy", [], [], "site.pp", [new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(1)), Command]))));
    }

    [Fact]
    public void Validate_NoPhases_SaysSo()
    {
        Assert.Equal("the job has no phases", JobValidation.Validate(Job()));
    }

    [Fact]
    public void Validate_ApplyWithoutManifest_NamesTheStepAndPhase()
    {
        string? problem = JobValidation.Validate(Job(new JobPhase("upgrade", [], [], null, [new StepDefinition(StepKind.Idempotency, "again", [], TimeSpan.FromMinutes(1))])));

        Assert.Equal("step 'again' of phase upgrade applies a manifest, but the phase has none", problem);
    }

    [Fact]
    public void Validate_EmptyCommand_NamesTheStep()
    {
        string? problem = JobValidation.Validate(Job(new JobPhase("deploy", [], [], null, [Command with { Command = [] }])));

        Assert.Equal("command step 'check' of phase deploy has an empty command", problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(25 * 24 * 60)]
    public void Validate_StepTimeoutOutOfRange_NamesTheBounds(int minutes)
    {
        string? problem = JobValidation.Validate(Job(new JobPhase("deploy", [], [], null, [Command with { Timeout = TimeSpan.FromMinutes(minutes) }])));

        Assert.NotNull(problem);
        Assert.StartsWith("step 'check' of phase deploy has a timeout of ", problem, StringComparison.Ordinal);
        Assert.EndsWith("outside (0, 24 days]", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_JobTimeoutOutOfRange_NamesTheBounds()
    {
        JobSpec job = Job(new JobPhase("deploy", [], [], null, [Command])) with { JobTimeout = TimeSpan.FromDays(30) };

        Assert.Equal("the job timeout 30.00:00:00 is outside (0, 24 days]", JobValidation.Validate(job));
    }

    private static JobSpec Job(params JobPhase[] phases) =>
        new(1, 2, "inst", "image", null, phases, TimeSpan.FromMinutes(5), "/nowhere/2.log", new ContainerLimits(1L << 29, 1, 100, "none"));
}
