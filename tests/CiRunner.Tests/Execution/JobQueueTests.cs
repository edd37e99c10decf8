using CiRunner.Execution;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

public sealed class JobQueueTests
{
    [Fact]
    public async Task DequeueAsync_MixedPriorities_ManualThenPatchSetThenCommitThenNightly()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        queue.Enqueue(new QueuedJob(1, 1, JobPriority.Nightly));
        queue.Enqueue(new QueuedJob(2, 2, JobPriority.BranchCommit));
        queue.Enqueue(new QueuedJob(3, 3, JobPriority.Manual));
        queue.Enqueue(new QueuedJob(4, 4, JobPriority.PatchSet));

        var order = new List<long>();
        for (int i = 0; i < 4; i++)
        {
            order.Add((await queue.DequeueAsync(CancellationToken.None)).JobId);
        }

        Assert.Equal([3, 4, 2, 1], order);
    }

    [Fact]
    public async Task DequeueAsync_SamePriority_FirstInFirstOut()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        for (long id = 1; id <= 50; id++)
        {
            queue.Enqueue(new QueuedJob(1, id, JobPriority.BranchCommit));
        }

        for (long id = 1; id <= 50; id++)
        {
            Assert.Equal(id, (await queue.DequeueAsync(CancellationToken.None)).JobId);
        }
    }

    [Fact]
    public async Task DequeueAsync_EmptyQueue_WaitsForTheNextEnqueue()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        Task<QueuedJob> waiting = queue.DequeueAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        queue.Enqueue(new QueuedJob(7, 70, JobPriority.Nightly));

        QueuedJob job = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(70, job.JobId);
    }

    [Fact]
    public async Task DequeueAsync_Cancelled_Throws()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        using var cancellation = new CancellationTokenSource();
        Task<QueuedJob> waiting = queue.DequeueAsync(cancellation.Token);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task RemoveWhere_RemovesMatchingJobs_OthersKeepTheirOrder()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        queue.Enqueue(new QueuedJob(1, 1, JobPriority.BranchCommit));
        queue.Enqueue(new QueuedJob(2, 2, JobPriority.BranchCommit));
        queue.Enqueue(new QueuedJob(1, 3, JobPriority.BranchCommit));
        queue.Enqueue(new QueuedJob(3, 4, JobPriority.BranchCommit));

        IReadOnlyList<QueuedJob> removed = queue.RemoveWhere(job => job.RunId == 1);

        Assert.Equal([1, 3], removed.Select(job => job.JobId));
        Assert.Equal(2, queue.Count);
        Assert.Equal(2, (await queue.DequeueAsync(CancellationToken.None)).JobId);
        Assert.Equal(4, (await queue.DequeueAsync(CancellationToken.None)).JobId);
    }

    [Fact]
    public void Snapshot_ListsJobsInDequeueOrder()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        queue.Enqueue(new QueuedJob(1, 1, JobPriority.Nightly));
        queue.Enqueue(new QueuedJob(1, 2, JobPriority.Manual));
        queue.Enqueue(new QueuedJob(1, 3, JobPriority.Nightly));

        Assert.Equal([2, 1, 3], queue.Snapshot().Select(job => job.JobId));
    }

    [Fact]
    public async Task DequeueAsync_NoEngineTakesTheMostUrgentJob_TakesTheNextOneAndLeavesItsPlace()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        queue.Enqueue(new QueuedJob(1, 1, JobPriority.Manual) { Releases = ["2025.1"] });
        queue.Enqueue(new QueuedJob(2, 2, JobPriority.Nightly) { Releases = ["zed"] });

        QueuedJob taken = await queue.DequeueAsync(job => job.Releases.Contains("zed"), beforeTaking: null, CancellationToken.None);

        Assert.Equal(2, taken.JobId);
        Assert.Equal([1L], queue.Snapshot().Select(j => j.JobId));
    }

    [Fact]
    public async Task DequeueAsync_NothingTakeableUntilASlotFrees_WaitsAndTakesItAfterWake()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        bool slotFree = false;
        queue.Enqueue(new QueuedJob(1, 1, JobPriority.Manual) { Releases = ["zed"] });

        Task<QueuedJob> waiting = queue.DequeueAsync(_ => Volatile.Read(ref slotFree), beforeTaking: null, CancellationToken.None);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        queue.Enqueue(new QueuedJob(1, 2, JobPriority.Manual));
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);

        Volatile.Write(ref slotFree, true);
        queue.Wake();

        Assert.Equal(1, (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).JobId);
    }
}
