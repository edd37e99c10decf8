using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Execution;

/// <summary>
/// Which infrastructure errors the executor calls retryable: a container ended from outside the job is; a command
/// the image lacks is not (it would fail the same way again). Decided from the container's state, never from text.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerLifecycleGroup.Name)]
public sealed class TransientErrorTests : ExecutorTestBase
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public TransientErrorTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Fact]
    public async Task ExecuteAsync_ContainerKilledFromOutside_IsAnErrorWithATransientCauseAndEvidence()
    {
        var running = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new RecordingProgress { OnStepStarted = _ => running.TrySetResult("started") };
        JobSpec job = Job(TestJobs.Command("long", "sleep", "300"));
        Task<JobOutcome> executing = CreateExecutor().ExecuteAsync(job, progress, CancellationToken.None);
        await running.Task.WaitAsync(Bound);

        // What a daemon going down, or an operator, does to it.
        await Engine.Docker.Containers.KillContainerAsync(progress.ContainerId!, new ContainerKillParameters());
        JobOutcome outcome = await executing.WaitAsync(Bound);

        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.NotNull(outcome.TransientCause);
        Assert.Contains($"container {progress.ContainerId![..12]}", outcome.Summary, StringComparison.Ordinal);
        Assert.Matches("transient: container [0-9a-f]{12} (was killed from outside \\(exit 137, not out of memory\\)|disappeared from the engine)", outcome.Summary);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_CommandTheImageLacks_IsAnErrorWithoutATransientCause()
    {
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(Job(TestJobs.Command("missing", "no-such-command-in-the-image")), new RecordingProgress(), CancellationToken.None);

        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Null(outcome.TransientCause);
        Assert.DoesNotContain("transient", outcome.Summary, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    private JobSpec Job(params CiRunner.Matrix.StepDefinition[] steps) =>
        TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase("main", null, [], [], steps));
}
