using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

/// <summary>
/// The store's side of flakes: a failed cell runs again on the same lockfile before its run finishes (so before it is
/// reported), a pass on that re-run is stored as <c>flaky</c> under the first failure's signature, and the ledger counts
/// flakes and failures per cell and signature over the cell's last runs.
/// </summary>
public abstract class FlakeStoreTests : IDisposable
{
    private const string PuppetFailure = """
        failure: step 'apply' (apply, phase deploy): puppet apply exited 4
        Error: Could not find class ::keystone::nope for cirunner-job-17.example.org at /tmp/tmp.Ab12Cd/site.pp:3:1
        """;

    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected FlakeStoreTests(IStoreUnderTest temp)
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
    public async Task Failure_WithAReRunLeft_QueuesTheReRunBeforeTheRunFinishes_AndAPassIsFlaky()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long failed = run.Jobs[0].Id;
        await FailAtApplyAsync(failed);

        JobCompletion first = (await _store.Jobs.MarkFinishedAsync(failed, new JobEnd(JobResult.Failure, PuppetFailure) { FlakeReruns = 1 }, CancellationToken.None))!;

        JobRecord rerun = first.Retry!;
        Assert.Null(first.CompletedRun);
        Assert.Equal((2, (long?)failed, (long?)failed), (rerun.Attempt, rerun.RetryOf, rerun.RerunOf));
        Assert.Empty(await _store.Reports.PlanAsync(_ => ["junit"], 10, CancellationToken.None));
        string signature = "deploy/apply: Error: Could not find class ::keystone::nope for cirunner-job-N.example.org at <tmp>:N:N";
        Assert.Equal(signature, first.Job.FailureSignature);
        Assert.Contains($"Re-run as job {rerun.Id} (attempt 2) on the same lockfile", first.Job.Summary, StringComparison.Ordinal);

        JobCompletion second = (await _store.Jobs.MarkFinishedAsync(rerun.Id, new JobEnd(JobResult.Success, "success: 3 step(s) passed") { FlakeReruns = 1 }, CancellationToken.None))!;

        Assert.Equal(JobResult.Flaky, second.Job.Result);
        Assert.Equal(signature, second.Job.FailureSignature);
        Assert.StartsWith($"flaky: job {failed} failed ({signature})", second.Job.Summary, StringComparison.Ordinal);
        Assert.Equal(JobResult.Flaky, second.CompletedRun!.Result);
        Assert.Null(second.Retry);
        Assert.Equal(JobResult.Flaky, (await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None)).Single().Result);
        Assert.Equal([run.Run.Id], await _store.Reports.PlanAsync(_ => ["junit"], 10, CancellationToken.None));
    }

    [Fact]
    public async Task Failure_ReRunFailsToo_TheFailureStandsAndNoThirdAttemptRuns()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        JobCompletion first = (await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, new JobEnd(JobResult.Timeout, "timeout: the job ran longer than 1h") { FlakeReruns = 1 }, CancellationToken.None))!;
        JobCompletion second = (await _store.Jobs.MarkFinishedAsync(first.Retry!.Id, new JobEnd(JobResult.Failure, PuppetFailure) { FlakeReruns = 1 }, CancellationToken.None))!;

        Assert.Null(second.Retry);
        Assert.Equal(JobResult.Failure, second.CompletedRun!.Result);
        Assert.Equal("job: timeout: the job ran longer than Nh", first.Job.FailureSignature);
        Assert.Equal(JobResult.Failure, (await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None)).Single().Result);
    }

    [Fact]
    public async Task Failure_OfAReplayOrWithoutReRuns_IsReportedAsItIs()
    {
        RunDetail original = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        JobCompletion once = (await _store.Jobs.MarkFinishedAsync(original.Jobs[0].Id, new JobEnd(JobResult.Failure, PuppetFailure) { FlakeReruns = 0 }, CancellationToken.None))!;
        RunDetail replay = await _store.Runs.CreateAsync(Samples.Run(cause: RunCause.Replay), [Samples.Deploy() with { ReplayOf = original.Jobs[0].Id }], CancellationToken.None);
        JobCompletion replayed = (await _store.Jobs.MarkFinishedAsync(replay.Jobs[0].Id, new JobEnd(JobResult.Failure, PuppetFailure) { FlakeReruns = 1 }, CancellationToken.None))!;

        Assert.Null(once.Retry);
        Assert.Null(replayed.Retry);
        Assert.Equal(JobResult.Failure, replayed.CompletedRun!.Result);
    }

    [Fact]
    public async Task Ledger_CountsFlakesAndFailuresPerSignatureOverTheCellsLastRuns()
    {
        const string timeout = "timeout: step 'apply' (apply, phase deploy): no output for 600 s";
        // Oldest first: passed, flaky (A), failed (A), flaky (A), passed, failed (B), flaky (A).
        await RunCellAsync([JobResult.Success]);
        await RunCellAsync([JobResult.Failure, JobResult.Success]);
        await RunCellAsync([JobResult.Failure, JobResult.Failure]);
        await RunCellAsync([JobResult.Failure, JobResult.Success]);
        await RunCellAsync([JobResult.Success]);
        await RunCellAsync([JobResult.Timeout, JobResult.Timeout], timeout);
        long lastFlaky = await RunCellAsync([JobResult.Failure, JobResult.Success]);
        await RunCellAsync([JobResult.Failure, JobResult.Success], module: "glance");

        IReadOnlyList<FlakeLedgerEntry> all = await _store.Flakes.LedgerAsync("keystone", null, window: 20, withFailures: true, CancellationToken.None);
        IReadOnlyList<FlakeLedgerEntry> recent = await _store.Flakes.LedgerAsync("keystone", "stable/2024.1", window: 3, withFailures: false, CancellationToken.None);

        FlakeLedgerEntry a = all[0];
        Assert.Equal(2, all.Count);
        Assert.Equal(("2024.1/scenario001", 7, 3, 1, lastFlaky), (a.CellKey, a.Runs, a.Flaky, a.Failed, a.LastJobId));
        Assert.Equal("3 of the last 7 runs", a.Describe());
        Assert.True(a.IsKnownFlaky(0.1));
        Assert.False(a.IsKnownFlaky(0.5));
        Assert.Equal((0, 1), (all[1].Flaky, all[1].Failed));
        Assert.StartsWith("deploy/apply: no output for N s", all[1].Signature, StringComparison.Ordinal);
        Assert.Equal([(3, 1)], recent.Select(e => (e.Runs, e.Flaky)));
        Assert.Equal(a, await _store.Flakes.FindAsync("keystone", "stable/2024.1", "2024.1/scenario001", a.Signature, 20, CancellationToken.None));
        Assert.Single(await _store.Flakes.LedgerAsync(null, null, window: 20, withFailures: false, CancellationToken.None), e => e.Module == "glance");
    }

    /// <summary>One run of the cell whose attempts end as given (each failure a re-run of the one before); returns the last job.</summary>
    private async Task<long> RunCellAsync(JobResult[] attempts, string summary = PuppetFailure, string module = "keystone")
    {
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(module: module), [Samples.Deploy()], CancellationToken.None);
        JobRecord job = run.Jobs[0];
        foreach (JobResult result in attempts)
        {
            await FailAtApplyAsync(job.Id);
            JobCompletion completion = (await _store.Jobs.MarkFinishedAsync(job.Id, new JobEnd(result, summary) { FlakeReruns = 1 }, CancellationToken.None))!;
            job = completion.Retry ?? completion.Job;
        }

        return job.Id;
    }

    private async Task FailAtApplyAsync(long jobId)
    {
        await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        await _store.JobProgress.AddStepAsync(jobId, new NewStep(1, "deploy", "apply", StepKind.Apply, _temp.Time.GetUtcNow(), _temp.Time.GetUtcNow(), 4, JobResult.Failure), CancellationToken.None);
    }
}

/// <summary>The <see cref="FlakeStoreTests"/> contract on a SQLite file.</summary>
public sealed class FlakeStoreOnSqliteTests() : FlakeStoreTests(new TempDatabase());

/// <summary>The <see cref="FlakeStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class FlakeStoreOnPostgresTests() : FlakeStoreTests(new TempPostgresDatabase());
