using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

/// <summary>
/// Attempts: a transient or interrupted end queues the cell's next attempt as a new job of the same run, in the same
/// transaction; everything that sums a run up reads the latest attempt of each cell only.
/// </summary>
public abstract class JobAttemptsTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected JobAttemptsTests(IStoreUnderTest temp)
    {
        _temp = temp;
        _store = _temp.CreateStore();
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task MarkFinished_RetryableWithAttemptsLeft_QueuesTheNextAttemptAndKeepsTheRunOpen()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(priority: JobPriority.Manual)], CancellationToken.None);
        long first = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(first, null, null, CancellationToken.None);

        JobCompletion? completion = await _store.Jobs.MarkFinishedAsync(first, EngineGone(maxAttempts: 3), CancellationToken.None);

        JobRecord retry = Assert.IsType<JobRecord>(completion?.Retry);
        Assert.Null(completion!.CompletedRun);
        Assert.Equal((run.Run.Id, "2024.1/scenario001", 2, JobPriority.Manual, JobState.Queued, (long?)first), (retry.RunId, retry.CellKey, retry.Attempt, retry.Priority, retry.State, retry.RetryOf));
        Assert.Equal(retry, await _store.Jobs.GetAsync(retry.Id, CancellationToken.None));
        Assert.Equal($"engine gone\nRetried as job {retry.Id} (attempt 2 of 3).", (await _store.Jobs.GetAsync(first, CancellationToken.None))!.Summary);
        Assert.Null((await _store.Runs.GetAsync(run.Run.Id, CancellationToken.None))!.FinishedAt);
        Assert.Empty(await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None));
        Assert.Contains(await _store.Jobs.ListByStateAsync(JobState.Queued, CancellationToken.None), j => j.Id == retry.Id);
    }

    [Fact]
    public async Task MarkFinished_LastAttempt_ResultStandsAndFinishesTheRun()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        for (int attempt = 1; attempt < 3; attempt++)
        {
            jobId = (await _store.Jobs.MarkFinishedAsync(jobId, EngineGone(maxAttempts: 3), CancellationToken.None))!.Retry!.Id;
        }

        JobCompletion? last = await _store.Jobs.MarkFinishedAsync(jobId, EngineGone(maxAttempts: 3), CancellationToken.None);

        Assert.Null(last?.Retry);
        Assert.Equal(JobResult.Error, last?.CompletedRun?.Result);
        RunDetail detail = (await _store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!;
        Assert.Equal([1, 2, 3], detail.Jobs.Select(j => j.Attempt));
        Assert.Equal(jobId, Assert.Single(detail.LatestAttempts()).Id);
        Assert.Equal("engine gone", detail.Jobs[^1].Summary);
    }

    [Fact]
    public async Task MarkFinished_ErrorWithoutTransientCause_NeverQueuesAnotherAttempt()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);

        JobCompletion? completion = await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, new JobEnd(JobResult.Error, "no image") { MaxAttempts = 3 }, CancellationToken.None);

        Assert.Null(completion?.Retry);
        Assert.Equal(JobResult.Error, completion?.CompletedRun?.Result);
    }

    [Theory]
    [InlineData(JobResult.Error, true)]
    [InlineData(JobResult.Cancelled, true)]
    [InlineData(JobResult.Interrupted, true)]
    [InlineData(JobResult.Failure, false)]
    [InlineData(JobResult.Timeout, false)]
    [InlineData(JobResult.Success, false)]
    public async Task MarkFinished_EveryRetryFactTrue_OnlyEndsThatSayNothingAboutTheModuleGetAnotherAttempt(JobResult result, bool retried)
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        var end = new JobEnd(result, "ended") { TransientCause = true, ServiceStopping = true, MaxAttempts = 3 };

        JobCompletion? completion = await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, end, CancellationToken.None);

        Assert.Equal(retried, completion?.Retry is not null);
        Assert.Equal(retried, completion?.CompletedRun is null);
    }

    [Fact]
    public async Task RunSummaries_ReadTheLatestAttemptOfEachCellOnly()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Success, null, CancellationToken.None);
        JobRecord retry = (await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, EngineGone(maxAttempts: 3), CancellationToken.None))!.Retry!;

        JobCompletion? completion = await _store.Jobs.MarkFinishedAsync(retry.Id, new JobEnd(JobResult.Success, null) { MaxAttempts = 3 }, CancellationToken.None);

        // The error of the first attempt is history: the run passed, with two jobs of two.
        Assert.Equal(JobResult.Success, completion?.CompletedRun?.Result);
        RunSummary summary = Assert.Single(await _store.Runs.ListRecentAsync(null, null, 10, CancellationToken.None));
        Assert.Equal((2, 2, JobResult.Success), (summary.JobCount, summary.PassedCount, summary.Run.Result));
        CellResultRecord cell = Assert.Single(await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None), c => c.CellKey == "2024.1/scenario001");
        Assert.Equal((retry.Id, JobResult.Success), (cell.JobId, cell.Result));
    }

    [Fact]
    public async Task FinishAllRunning_Interrupted_QueuesEachNextAttemptWithinTheLimit()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
        JobRecord second = (await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, new JobEnd(JobResult.Interrupted, "crash") { MaxAttempts = 2 }, CancellationToken.None))!.Retry!;
        await _store.Jobs.MarkStartedAsync(second.Id, null, null, CancellationToken.None);

        IReadOnlyList<JobCompletion> closed = await _store.Jobs.FinishAllRunningAsync(JobResult.Interrupted, "crash", maxAttempts: 2, CancellationToken.None);

        // The first cell had attempts left; the second was on its last one, so its interruption ends the run.
        Assert.Equal(2, closed.Count);
        JobRecord retried = Assert.Single(closed, c => c.Job.Id == run.Jobs[0].Id).Retry!;
        Assert.Equal(2, retried.Attempt);
        Assert.Null(Assert.Single(closed, c => c.Job.Id == second.Id).Retry);
        Assert.Equal([retried.Id], (await _store.Jobs.ListByStateAsync(JobState.Queued, CancellationToken.None)).Select(j => j.Id));
        Assert.Null((await _store.Runs.GetAsync(run.Run.Id, CancellationToken.None))!.FinishedAt);
    }

    /// <summary>An error the executor found a transient cause for: the engine went away.</summary>
    private static JobEnd EngineGone(int maxAttempts) => new(JobResult.Error, "engine gone") { TransientCause = true, MaxAttempts = maxAttempts };
}

/// <summary>The <see cref="JobAttemptsTests"/> contract on a SQLite file.</summary>
public sealed class JobAttemptsOnSqliteTests() : JobAttemptsTests(new TempDatabase());

/// <summary>The <see cref="JobAttemptsTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class JobAttemptsOnPostgresTests() : JobAttemptsTests(new TempPostgresDatabase());
