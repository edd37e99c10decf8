using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Execution;

/// <summary>
/// <see cref="ClusterWatch"/> on a real store, as instance <c>east</c>: the other instances are rows and jobs another
/// process wrote. The engine is one that does not answer, so a lost instance's containers cannot be removed; its jobs
/// must end all the same (the two-process test in ClusterTests removes real containers).
/// </summary>
public sealed class ClusterWatchTests : IDisposable
{
    private readonly TempDatabase _temp = new();
    private readonly ConfigFolder _folder = new();
    private readonly ResultsStore _store;
    private readonly JobQueue _queue = new(TestTelemetry.Private());
    private readonly RunningJobs _running = new(TimeProvider.System);
    private readonly ClusterWatch _watch;

    public ClusterWatchTests(ITestOutputHelper output)
    {
        _store = _temp.CreateStore();
        _folder.Set("Service:InstanceId", "east");
        _folder.Set("Service:MaxAttempts", 3);
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        CiRunnerSettings settings = loaded.Settings!;
        _watch = new ClusterWatch(
            _store.Jobs,
            _store.Instances,
            _queue,
            TestPools.Create(settings, _queue, _running),
            _running,
            Options.Create(settings.Service),
            settings,
            _temp.Time,
            new TestOutputLogger<ClusterWatch>(output));
    }

    public void Dispose()
    {
        _queue.Dispose();
        _running.Dispose();
        _folder.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task RecoverLostInstancesAsync_SilentInstancesJobsEndInterruptedAndTheirRetriesQueue_ServingOnesRunOn()
    {
        await _store.Instances.CheckInAsync("west", "w1", 41, TempDatabase.Start, CancellationToken.None);
        await _store.Instances.CheckInAsync("north", "n1", 42, TempDatabase.Start, CancellationToken.None);
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, "west", CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, "north", CancellationToken.None);

        // Seen once; then north keeps checking in while west, killed, does not.
        int endedAtFirstSight = await _watch.RecoverLostInstancesAsync(CancellationToken.None);
        var ticks = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            _temp.Time.Advance(InstanceCheckIn.Interval);
            await _store.Instances.CheckInAsync("north", "n1", 42, TempDatabase.Start, CancellationToken.None);
            ticks.Add(await _watch.RecoverLostInstancesAsync(CancellationToken.None));
        }

        Assert.Equal(0, endedAtFirstSight);
        Assert.Equal([0, 0, 1], ticks);
        JobRecord lost = (await _store.Jobs.GetAsync(run.Jobs[0].Id, CancellationToken.None))!;
        Assert.Equal(JobResult.Interrupted, lost.Result);
        Assert.StartsWith("Instance west (w1, pid 41) stopped checking in at 2025-04-01 02:00:00Z while this job ran; instance east removed its container.", lost.Summary, StringComparison.Ordinal);
        JobRecord retry = Assert.Single(await _store.Jobs.ListByStateAsync(JobState.Queued, CancellationToken.None));
        Assert.Equal((2, lost.Id), (retry.Attempt, retry.RetryOf));
        Assert.True(_queue.Contains(retry.Id));
        Assert.Equal(JobState.Running, (await _store.Jobs.GetAsync(run.Jobs[1].Id, CancellationToken.None))!.State);
        Assert.Equal(0, await _watch.RecoverLostInstancesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task RecoverLostInstancesAsync_ACheckInOlderThanTheWatchersClock_IsNotLostBeforeItWasWatchedLongEnough()
    {
        // west's clock is far behind east's (or the database was down for everyone): its check-in looks old.
        await _store.Instances.CheckInAsync("west", "w1", 41, TempDatabase.Start, CancellationToken.None);
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, "west", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(5));

        int first = await _watch.RecoverLostInstancesAsync(CancellationToken.None);
        _temp.Time.Advance(InstanceCheckIn.Interval);
        await _store.Instances.CheckInAsync("west", "w1", 41, TempDatabase.Start, CancellationToken.None);
        int second = await _watch.RecoverLostInstancesAsync(CancellationToken.None);

        Assert.Equal((0, 0), (first, second));
        Assert.Equal(JobState.Running, (await _store.Jobs.GetAsync(run.Jobs[0].Id, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task CancelRequestedAsync_AJobRunningHereAskedToCancelElsewhere_IsCancelledHere_OthersNot()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, "east", CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, "west", CancellationToken.None);
        using CancellationTokenSource mine = _running.Add(run.Jobs[0].Id, CancellationToken.None);

        bool askedBefore = await _store.Jobs.RequestCancelAsync(run.Jobs[0].Id, "alice", CancellationToken.None);
        bool askedWest = await _store.Jobs.RequestCancelAsync(run.Jobs[1].Id, "alice", CancellationToken.None);
        int cancelled = await _watch.CancelRequestedAsync(CancellationToken.None);

        Assert.Equal((true, true, 1), (askedBefore, askedWest, cancelled));
        Assert.True(mine.IsCancellationRequested);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Cancelled, "cancelled", CancellationToken.None);
        Assert.False(await _store.Jobs.RequestCancelAsync(run.Jobs[0].Id, "alice", CancellationToken.None));
    }

    [Fact]
    public async Task FeedOnceAsync_JobsAnotherInstanceQueuedJoin_JobsItCancelledLeave_NoneTwice()
    {
        RunDetail mine = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        _queue.Enqueue(new QueuedJob(mine.Run.Id, mine.Jobs[0].Id, JobPriority.Manual));
        RunDetail theirs = await _store.Runs.CreateAsync(Samples.Run(module: "nova"), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);

        (int Added, int Removed) first = await _watch.FeedOnceAsync(CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(theirs.Jobs[1].Id, JobResult.Cancelled, "cancelled on west", CancellationToken.None);
        (int Added, int Removed) second = await _watch.FeedOnceAsync(CancellationToken.None);

        Assert.Equal(((2, 0), (0, 1)), (first, second));
        Assert.Equal([mine.Jobs[0].Id, theirs.Jobs[0].Id], _queue.Snapshot().Select(j => j.JobId).Order());
    }
}
