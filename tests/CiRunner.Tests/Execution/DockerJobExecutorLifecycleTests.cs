using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

/// <summary>How jobs end other than by their steps: timeouts, cancellation, infrastructure errors, and a crashed process.</summary>
[Trait("Category", "Docker")]
[Collection(DockerLifecycleGroup.Name)]
public sealed class DockerJobExecutorLifecycleTests : ExecutorTestBase
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public DockerJobExecutorLifecycleTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Fact]
    public async Task ExecuteAsync_StepExceedsItsTimeout_EndsAsTimeoutAndRemovesTheContainer()
    {
        // Given a step that would sleep for a minute but may take one second
        JobSpec job = CommandJob(
            TestJobs.Command("slow", TimeSpan.FromSeconds(1), "sh", "-c", "echo sleeping; sleep 60"),
            TestJobs.Command("after", "true"));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then the job is a timeout, well before the sleep would end, and the container is gone
        Assert.True(outcome.Result == JobResult.Timeout, outcome.Summary);
        Assert.Equal((JobResult.Timeout, (long?)null), (outcome.Steps[0].Result, outcome.Steps[0].ExitCode));
        Assert.Equal(JobResult.Skipped, outcome.Steps[1].Result);
        Assert.Contains("exceeded its 1 s limit", outcome.Summary, StringComparison.Ordinal);
        Assert.True(outcome.Duration < TimeSpan.FromSeconds(30), $"took {outcome.Duration}");
        Assert.Contains("out sleeping", await ReadLogAsync(job), StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_JobExceedsItsTimeout_EndsAsTimeout()
    {
        // Given a job limited to two seconds whose step may take a minute
        JobSpec job = CommandJob(TimeSpan.FromSeconds(2), TestJobs.Command("slow", TimeSpan.FromMinutes(1), "sleep", "60"));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then the job timeout ended it
        Assert.True(outcome.Result == JobResult.Timeout, outcome.Summary);
        Assert.Contains("the job exceeded its 2 s limit", outcome.Summary, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_CancelledWhileAStepRuns_EndsAsCancelledAfterItsOutputWasFollowable()
    {
        // Given a long step that says something first
        using var cancellation = new CancellationTokenSource();
        JobSpec job = CommandJob(TestJobs.Command("slow", "sh", "-c", "echo first words; sleep 60"));

        // When it runs, and the caller cancels once the step's first words are in the log file
        Task<JobOutcome> running = CreateExecutor().ExecuteAsync(job, new RecordingProgress(), cancellation.Token);
        bool followable = await LogContainsAsync(job, "out first words", running);
        await cancellation.CancelAsync();
        JobOutcome outcome = await running.WaitAsync(Bound);

        // Then the output was in the log while the step ran, the job is cancelled, and the container is gone
        Assert.True(followable, "the step's output did not reach the log while the step ran\n" + await ReadLogAsync(job));
        Assert.True(outcome.Result == JobResult.Cancelled, outcome.Summary);
        Assert.Equal(JobResult.Cancelled, Assert.Single(outcome.Steps).Result);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_CancelledAtAnyMomentOfTheStart_LeavesNoContainer()
    {
        // Given jobs cancelled after 0, 10, 20, ... ms: some while the engine is still creating their container,
        // whose id then never reaches the executor, others while it is copied into or started.
        var outcomes = new List<JobOutcome>();
        for (int delay = 0; delay <= 150; delay += 10)
        {
            using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(delay));
            JobSpec job = CommandJob(TestJobs.Command("slow", "sleep", "60"));

            // When
            outcomes.Add(await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), cancellation.Token).WaitAsync(Bound));
        }

        // Then every job ended cancelled, and no container of this instance is left in any state
        Assert.All(outcomes, outcome => Assert.True(outcome.Result == JobResult.Cancelled, outcome.Summary));
        await AssertNoContainerLeftAsync();
    }

    [Theory]
    [InlineData(new[] { "no-such-command" }, 127L)]
    [InlineData(new[] { "/etc/hostname" }, 126L)]
    public async Task ExecuteAsync_CommandThatCannotStart_IsAnErrorNamingTheImageAndCommand(string[] command, long exitCode)
    {
        // Given a step whose command is not in the image (127), or is not executable (126)
        JobSpec job = CommandJob(TestJobs.Command("missing", command));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is an infrastructure error, not a test failure, and the summary says what could not start where
        await ReadLogAsync(job);
        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Contains("last output:", outcome.Summary, StringComparison.Ordinal);
        Assert.Equal((JobResult.Error, exitCode), (outcome.Steps[0].Result, outcome.Steps[0].ExitCode!.Value));
        Assert.Contains("could not start", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains(command[0], outcome.Summary, StringComparison.Ordinal);
        Assert.Contains(Engine.PuppetImage, outcome.Summary, StringComparison.Ordinal);
        Assert.Contains($"exit {exitCode}", outcome.Summary, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_ImageMissingAndNoBuilder_IsAnErrorNamingTheCommandThatBuildsIt()
    {
        // Given a job on a release image that does not exist
        JobSpec job = TestJobs.Job(Instance, $"cirunner/test-missing:{Guid.NewGuid():N}", Folder, release: "2099.1", phases:
            TestJobs.Phase("main", null, [], [], TestJobs.Command("never", "true")));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is an error that tells how to build the image, and no container was made
        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Contains("`cirunner images build --release 2099.1`", outcome.Summary, StringComparison.Ordinal);
        Assert.Null(outcome.ContainerId);
        Assert.Equal(JobResult.Skipped, Assert.Single(outcome.Steps).Result);
    }

    [Fact]
    public async Task ExecuteAsync_ModuleSetCannotBeAssembled_IsAnErrorAndLeavesNoContainer()
    {
        // Given a module whose directory does not exist
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase(
            "deploy", "site.pp", [new DirectoryModuleSource("gone", Folder.Combine("no-such-module"))], [], TestJobs.Apply()));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is an infrastructure error that names the module, not a test failure
        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Contains("module set: Module 'gone'", outcome.Summary, StringComparison.Ordinal);
        Assert.Equal(JobResult.Skipped, Assert.Single(outcome.Steps).Result);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_EngineUnreachable_IsAnErrorNotAFailure()
    {
        // Given an engine endpoint nobody listens on
        using IDockerClient nowhere = new DockerClientBuilder().WithEndpoint(new Uri($"unix://{Folder.Combine("no-engine.sock")}")).Build();
        var executor = TestExecutors.Create(nowhere, new TestOutputLogger<DockerJobExecutor>(Output));
        JobSpec job = CommandJob(TestJobs.Command("never", "true"));

        // When a job runs there
        JobOutcome outcome = await executor.ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is an infrastructure error with the cause
        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Contains("unreachable", outcome.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReapAsync_ContainersOfACrashedProcess_AreRemovedAndTheirJobsReturned()
    {
        // Given a first process whose job is running in its container...
        DockerClient firstClient = new DockerClientBuilder().WithEndpoint(new Uri(Engine.Endpoint)).Build();
        var first = TestExecutors.Create(firstClient, NullLogger<DockerJobExecutor>.Instance);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        JobSpec job = CommandJob(TestJobs.Command("long", "sleep", "300"));
        Task<JobOutcome> abandoned = first.ExecuteAsync(job, new RecordingProgress { OnStepStarted = _ => running.TrySetResult() }, CancellationToken.None);
        await running.Task.WaitAsync(Bound);

        // ...that dies: its connection to the engine is gone, so it can no longer clean up
        firstClient.Dispose();
        Assert.Single(await Engine.ContainersOfInstanceAsync(Instance));

        // When a second process of the same instance starts and reaps
        using var probe = new EngineProbe(new EngineOptions { Name = "default", Endpoint = Engine.Endpoint }, Engine.Docker);
        IReadOnlyList<ReapedContainer> reaped = await new OrphanReaper(probe, Engine.Docker, new TestOutputLogger<OrphanReaper>(Output))
            .ReapAsync(Instance, CancellationToken.None);

        // Then the container is gone and its job is named, to be marked interrupted
        ReapedContainer orphan = Assert.Single(reaped);
        Assert.Equal((job.RunId, job.JobId, "running"), (orphan.RunId!.Value, orphan.JobId!.Value, orphan.State));
        await AssertNoContainerLeftAsync();
        JobOutcome outcome = await abandoned.WaitAsync(Bound);
        Assert.NotEqual(JobResult.Success, outcome.Result);
    }

    [Fact]
    public async Task ReapAsync_OtherInstancesContainers_AreLeftAlone()
    {
        // Given a running job of another instance
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancellation = new CancellationTokenSource();
        JobSpec job = CommandJob(TestJobs.Command("long", "sleep", "300"));
        Task<JobOutcome> other = CreateExecutor().ExecuteAsync(job, new RecordingProgress { OnStepStarted = _ => running.TrySetResult() }, cancellation.Token);
        await running.Task.WaitAsync(Bound);

        // When this instance reaps
        using var probe = new EngineProbe(new EngineOptions { Name = "default", Endpoint = Engine.Endpoint }, Engine.Docker);
        IReadOnlyList<ReapedContainer> reaped = await new OrphanReaper(probe, Engine.Docker, NullLogger<OrphanReaper>.Instance)
            .ReapAsync(DockerEngineFixture.NewInstanceId(), CancellationToken.None);

        // Then nothing of the other instance is touched
        Assert.Empty(reaped);
        Assert.Single(await Engine.ContainersOfInstanceAsync(Instance));
        await cancellation.CancelAsync();
        Assert.Equal(JobResult.Cancelled, (await other.WaitAsync(Bound)).Result);
        await AssertNoContainerLeftAsync();
    }

    [Theory]
    [InlineData("none", "lo")]
    [InlineData("host", null)]
    public async Task ExecuteAsync_NetworkMode_IsTheContainersNetwork(string networkMode, string? onlyInterface)
    {
        // Given a job whose limits carry a scenario's network (none is every job's default)
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancellation = new CancellationTokenSource();
        JobSpec job = CommandJob(
            TestJobs.Command("interfaces", "ls", "/sys/class/net"),
            TestJobs.Command("hold", "sleep", "300")) with { Limits = TestJobs.Limits with { NetworkMode = networkMode } };

        // When it runs, the engine's inspect of its container is read while the second step holds it
        Task<JobOutcome> outcome = CreateExecutor().ExecuteAsync(
            job, new RecordingProgress { OnStepStarted = s => { if (s.Index == 1) { running.TrySetResult(); } } }, cancellation.Token);
        await running.Task.WaitAsync(Bound);
        string id = Assert.Single(await Engine.ContainersOfInstanceAsync(Instance)).ID;
        Docker.DotNet.Models.ContainerInspectResponse inspect = await Engine.Docker.Containers.InspectContainerAsync(id);
        await cancellation.CancelAsync();
        await outcome.WaitAsync(Bound);

        // Then the container is on that network, and a job without network sees only its loopback interface
        Assert.Equal(networkMode, inspect.HostConfig?.NetworkMode);
        string[] interfaces = (await ReadLogAsync(job)).Split('\n')
            .Select(line => line.Split(' ', 3))
            .Where(parts => parts.Length == 3 && parts[1] == "out")
            .Select(parts => parts[2].Trim())
            .ToArray();
        if (onlyInterface is null)
        {
            Assert.Contains(interfaces, i => i != "lo");
        }
        else
        {
            Assert.Equal([onlyInterface], interfaces);
        }

        await AssertNoContainerLeftAsync();
    }

    /// <summary>Polls the job's log (bounded) until it contains <paramref name="text"/>; false if the job ended first.</summary>
    private static async Task<bool> LogContainsAsync(JobSpec job, string text, Task running)
    {
        (bool found, _) = await Eventually.LastValueAsync(
            async () => running.IsCompleted ? (Found: false, Ended: true) : (Found: (await ReadSharedLogAsync(job)).Contains(text, StringComparison.Ordinal), Ended: false),
            state => state.Found || state.Ended,
            Bound,
            TimeSpan.FromMilliseconds(50));
        return found;
    }

    private static async Task<string> ReadSharedLogAsync(JobSpec job)
    {
        if (!File.Exists(job.LogFilePath))
        {
            return "";
        }

        // The executor keeps the file open for writing; share it as a follower (tail -f) would.
        await using var stream = new FileStream(job.LogFilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    private JobSpec CommandJob(params CiRunner.Matrix.StepDefinition[] steps) => CommandJob(null, steps);

    private JobSpec CommandJob(TimeSpan? jobTimeout, params CiRunner.Matrix.StepDefinition[] steps) =>
        TestJobs.Job(Instance, Engine.PuppetImage, Folder, jobTimeout, phases: TestJobs.Phase("main", null, [], [], steps));
}
