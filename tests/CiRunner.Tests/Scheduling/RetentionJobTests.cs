using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Scheduling;

public sealed class RetentionJobTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task RunAsync_OldJobs_LogsAndDetailsGoSummariesAndLatestCellResultsStayAndTheFileShrinks()
    {
        // Given: a cell run twice 100 days ago (the second run is the cell's latest result), and a job from yesterday.
        ResultsStore store = _database.CreateStore();
        long superseded = await FinishedJobAsync(store, "aaaa", "zed/basic", JobResult.Failure, bulk: true);
        long latestOfCell = await FinishedJobAsync(store, "bbbb", "zed/basic", JobResult.Success, bulk: true);
        _database.Time.Advance(TimeSpan.FromDays(99));
        long recent = await FinishedJobAsync(store, "cccc", "2024.1/basic", JobResult.Success, bulk: false);
        _database.Time.Advance(TimeSpan.FromDays(1));
        await store.Retention.CompactAsync(CancellationToken.None);
        long sizeBefore = new FileInfo(_database.DatabaseFile).Length;

        // When
        PruneResult result = await CreateJob(store, TimeSpan.FromDays(90)).RunAsync(CancellationToken.None);

        // Then
        Assert.Equal(1, result.Jobs);
        JobDetail pruned = (await store.Jobs.GetDetailAsync(superseded, CancellationToken.None))!;
        Assert.Equal((JobResult?)JobResult.Failure, pruned.Job.Result);
        Assert.Equal("summary of aaaa", pruned.Job.Summary);
        Assert.Null(pruned.Job.LogPath);
        Assert.Empty(pruned.Steps);
        // The lockfile stays: a replay of an old job needs it.
        Assert.Single(pruned.Modules);
        Assert.False(File.Exists(_database.Paths.JobLogFile(pruned.Job.RunId, superseded)));
        foreach (long kept in (long[])[latestOfCell, recent])
        {
            JobDetail detail = (await store.Jobs.GetDetailAsync(kept, CancellationToken.None))!;
            Assert.NotEmpty(detail.Steps);
            Assert.Single(detail.Modules);
            Assert.True(File.Exists(detail.Job.LogPath), $"the log of job {kept} must stay");
        }

        Assert.NotNull(await store.Runs.GetAsync(pruned.Job.RunId, CancellationToken.None));
        Assert.True(new FileInfo(_database.DatabaseFile).Length < sizeBefore, "the database file did not shrink");
    }

    [Fact]
    public async Task RunAsync_NothingOldEnough_RemovesNothing()
    {
        ResultsStore store = _database.CreateStore();
        long job = await FinishedJobAsync(store, "aaaa", "zed/basic", JobResult.Success, bulk: false);
        await FinishedJobAsync(store, "bbbb", "zed/basic", JobResult.Success, bulk: false);

        PruneResult result = await CreateJob(store, TimeSpan.FromDays(1)).RunAsync(CancellationToken.None);

        Assert.Equal(0, result.Jobs);
        Assert.NotEmpty((await store.Jobs.GetDetailAsync(job, CancellationToken.None))!.Steps);
    }

    private RetentionJob CreateJob(ResultsStore store, TimeSpan maxAge) => new(
        store.Retention,
        Options.Create(new RetentionOptions { MaxAge = maxAge }),
        _database.Paths,
        _database.Time,
        NullLogger<RetentionJob>.Instance);

    private async Task<long> FinishedJobAsync(ResultsStore store, string commit, string cell, JobResult result, bool bulk)
    {
        string release = cell.Split('/')[0];
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "master", commit),
            [new NewJob(cell, JobKind.Deploy, release, null, "basic")],
            CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        string log = _database.Paths.JobLogFile(run.Run.Id, jobId);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, "job log\n");
        Assert.True(await store.Jobs.MarkStartedAsync(jobId, "sha256:image", log, CancellationToken.None));
        await store.JobProgress.RecordModulesAsync(jobId, [new JobModuleRecord("keystone", "/repos/keystone", "master", commit)], CancellationToken.None);
        DateTimeOffset now = _database.Time.GetUtcNow();
        for (int i = 0; i < (bulk ? 2000 : 2); i++)
        {
            // Long step names make the old jobs' details weigh enough to see the file shrink.
            await store.JobProgress.AddStepAsync(jobId, new NewStep(i, "deploy", new string('x', bulk ? 1000 : 10) + i, StepKind.Command, now, now, 0, JobResult.Success), CancellationToken.None);
        }

        await store.Jobs.MarkFinishedAsync(jobId, result, $"summary of {commit}", CancellationToken.None);
        return jobId;
    }
}
