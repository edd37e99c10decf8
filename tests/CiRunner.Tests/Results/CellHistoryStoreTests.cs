using System.Data.Common;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;

namespace CiRunner.Tests.Results;

/// <summary>
/// A cell's history from jobs written through the real stores on a moving clock: which runs count and in what order,
/// what their attempts were, the failure signatures counted over them, the idempotency drift (which outlives
/// retention), the matrix's strips and the per-cell change count behind <c>cirunner_idempotency_changes</c>.
/// </summary>
public abstract class CellHistoryStoreTests : IDisposable
{
    private const string Cell = "2024.1/scenario001";
    private const string Signature = "deploy/apply: Error: Could not find class ::demo::x for cirunner-job-N";

    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected CellHistoryStoreTests(IStoreUnderTest temp)
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
    public async Task ReadAsync_BranchRunsAmongOthers_NewestFirstWithAttemptsReruns_AndSignaturesCountedOverAttempts()
    {
        // Given three runs of the cell on the branch: a pass, a failure rerun on its lockfile that passed (flaky), a failure
        long passed = await FinishAsync(Samples.Run(commitSha: "aaaa"), JobResult.Success, minutes: 5);
        (long failedFirst, long flaky) = await FailThenRerunAsync("bbbb", changes: [Motd]);
        long failed = await FinishAsync(Samples.Run(commitSha: "cccc"), JobResult.Failure, minutes: 7, signature: Signature);

        // And runs that are no point of the branch's history: a patch set, a replay, a bisect step, another branch,
        // another cell, and a job superseded before it ran
        await FinishAsync(Samples.Run(cause: RunCause.PatchSet, commitSha: "dddd", changeRef: "refs/changes/45/12345/1", patchSet: 1), JobResult.Failure, minutes: 1);
        await FinishAsync(Samples.Run(cause: RunCause.Replay, commitSha: "eeee"), JobResult.Failure, minutes: 1);
        await FinishAsync(Samples.Run(cause: RunCause.Bisect, commitSha: "ffff"), JobResult.Failure, minutes: 1);
        await FinishAsync(Samples.Run(branch: "stable/2024.2", commitSha: "1111"), JobResult.Failure, minutes: 1);
        await FinishAsync(Samples.Run(commitSha: "2222"), JobResult.Failure, minutes: 1, job: Samples.Deploy(scenario: "scenario002"));
        await FinishAsync(Samples.Run(commitSha: "3333"), JobResult.Superseded, minutes: 0);

        // When the cell's history is read
        CellHistory history = await _store.CellHistory.ReadAsync("keystone", "stable/2024.1", Cell, 30, CancellationToken.None);

        // Then it holds the three branch runs, newest first, each its latest attempt with its commit, result and duration
        Assert.Equal(
            [(failed, "cccc", JobResult.Failure, 7), (flaky, "bbbb", JobResult.Flaky, 3), (passed, "aaaa", JobResult.Success, 5)],
            history.Runs.Select(r => (r.JobId, r.CommitSha, r.Result, (int)r.Duration!.Value.TotalMinutes)));
        Assert.True(history.Runs[0].FinishedAt > history.Runs[1].FinishedAt);

        // And the flaky run's latest attempt is attempt 2, a rerun, after attempt 1 failed with its signature
        CellRun rerun = history.Runs[1];
        Assert.Equal((2, true, null), (rerun.Attempt, rerun.Rerun, rerun.FailureSignature));
        Assert.Equal([new CellAttempt(failedFirst, 1, JobResult.Failure, false, Signature)], rerun.EarlierAttempts);
        Assert.Equal((1, false, Signature), (history.Runs[0].Attempt, history.Runs[0].Rerun, history.Runs[0].FailureSignature));
        Assert.Empty(history.Runs[0].EarlierAttempts);

        // And the signature counts both attempts that ended on it, the newest last
        FailureSignatureCount signature = Assert.Single(history.FailureSignatures);
        Assert.Equal((Signature, 2, failed), (signature.Signature, signature.Count, signature.LastJobId));

        // And a drift in both attempts of the flaky run counts once for it, first seen in its first attempt, last in its rerun
        IdempotencyDrift motd = Assert.Single(history.Drift);
        Assert.Equal((failedFirst, flaky, 1, false), (motd.FirstSeen.JobId, motd.LastSeen.JobId, motd.Runs, motd.StillChanges));
        Assert.Equal([0, 1, 0], history.Runs.Select(r => r.IdempotencyChanges));

        // And a limit keeps the newest runs only
        CellHistory two = await _store.CellHistory.ReadAsync("keystone", "stable/2024.1", Cell, 2, CancellationToken.None);
        Assert.Equal([failed, flaky], two.Runs.Select(r => r.JobId));
    }

    [Fact]
    public async Task ReadAsync_IdempotencyStepsKeepChanging_DriftWithFirstSeenAndCounts_KeptAfterRetentionPrunedTheSteps()
    {
        // Given a run that converged, then two whose deploy idempotency step changed File[/etc/motd] (and once a config value)
        long converged = await FinishAsync(Samples.Run(commitSha: "aaaa"), JobResult.Success, minutes: 5);
        long both = await FinishAsync(Samples.Run(commitSha: "bbbb"), JobResult.Failure, minutes: 5, changes: [Motd, Samples.Change()]);
        DateTimeOffset bothAt = _temp.Time.GetUtcNow().AddMinutes(-1);
        long motdOnly = await FinishAsync(Samples.Run(commitSha: "cccc"), JobResult.Failure, minutes: 5, changes: [Motd]);

        // And retention pruned the details of the old job with steps (the cell's latest keeps them)
        _temp.Time.Advance(TimeSpan.FromDays(100));
        PruneResult pruned = await _store.Retention.PruneAsync(_temp.Time.GetUtcNow().AddDays(-90), CancellationToken.None);
        Assert.Equal(1, pruned.Jobs);
        JobDetail prunedDetail = (await _store.Jobs.GetDetailAsync(both, CancellationToken.None))!;
        Assert.Equal((0, 0), (prunedDetail.Steps.Count, prunedDetail.Changes.Count));

        // When the cell's history is read
        CellHistory history = await _store.CellHistory.ReadAsync("keystone", "stable/2024.1", Cell, 30, CancellationToken.None);

        // Then the motd drift is still changing: first seen in the run of bbbb, last in the newest, in 2 of 3 runs
        Assert.Equal(2, history.Drift.Count);
        IdempotencyDrift motd = history.Drift[0];
        Assert.Equal(("File[/etc/motd]", "content", "deploy", "IDEMPOTENCY 2"), (motd.Resource, motd.Property, motd.Phase, motd.StepName));
        Assert.Equal(new DriftSighting(both, "bbbb", bothAt), motd.FirstSeen);
        Assert.Equal((motdOnly, "cccc"), (motd.LastSeen.JobId, motd.LastSeen.CommitSha));
        Assert.Equal((2, true), (motd.Runs, motd.StillChanges));

        // And the config value changed once and stopped
        IdempotencyDrift debug = history.Drift[1];
        Assert.Equal(("Keystone_config[DEFAULT/debug]", "value", 1, false), (debug.Resource, debug.Property, debug.Runs, debug.StillChanges));
        Assert.Equal(both, debug.FirstSeen.JobId);
        Assert.Equal(debug.FirstSeen, debug.LastSeen);

        // And each run counts its changes, the trend's points
        Assert.Equal([(motdOnly, 1), (both, 2), (converged, 0)], history.Runs.Select(r => (r.JobId, r.IdempotencyChanges)));

        // And the metric's count is the changes of the cell's latest result
        CellIdempotencyChanges latest = Assert.Single(await _store.Cells.ListIdempotencyChangesAsync(CancellationToken.None));
        Assert.Equal(new CellIdempotencyChanges("keystone", "stable/2024.1", Cell, 1), latest);
    }

    [Fact]
    public async Task ListIdempotencyChangesAsync_StoreWithNoResultYet_IsEmpty()
    {
        // Given a fresh store, as Prometheus finds it on a new installation's first scrape

        // When the metric's counts are read
        IReadOnlyList<CellIdempotencyChanges> changes = await _store.Cells.ListIdempotencyChangesAsync(CancellationToken.None);

        // Then there are none, rather than an error logged at every scrape
        Assert.Empty(changes);
    }

    [Fact]
    public async Task ReadAsync_CellThatNeverRan_EmptyHistory()
    {
        await FinishAsync(Samples.Run(), JobResult.Success, minutes: 1);

        CellHistory history = await _store.CellHistory.ReadAsync("keystone", "stable/2024.1", "2024.1/scenario999", 30, CancellationToken.None);

        Assert.Equal(("keystone", "stable/2024.1", "2024.1/scenario999", 30), (history.Module, history.Branch, history.CellKey, history.Limit));
        Assert.Empty(history.Runs);
        Assert.Empty(history.Drift);
    }

    [Fact]
    public async Task ListStripsAsync_ManyRunsOfOneCell_TheLastFewOfEachCellOldestFirst_InOneRead()
    {
        // Given twelve branch runs of one cell, the last one failed, an upgrade cell that ran once, and a patch set run
        var jobs = new List<long>();
        for (int i = 0; i < 12; i++)
        {
            jobs.Add(await FinishAsync(Samples.Run(commitSha: $"c{i:D3}"), i == 11 ? JobResult.Failure : JobResult.Success, minutes: 1));
        }

        long upgrade = await FinishAsync(Samples.Run(commitSha: "u001"), JobResult.Timeout, minutes: 1, job: Samples.Upgrade() with { Attempt = 1 });
        await FinishAsync(Samples.Run(cause: RunCause.PatchSet, commitSha: "p001", changeRef: "refs/changes/45/12345/1", patchSet: 1), JobResult.Failure, minutes: 1);

        // When the strips of three results per cell are read
        IReadOnlyDictionary<(string Module, string Branch, string CellKey), IReadOnlyList<CellStripEntry>> strips =
            await _store.CellHistory.ListStripsAsync(3, CancellationToken.None);

        // Then the deploy cell shows its last three branch results, oldest first, and the upgrade cell its one
        Assert.Equal(2, strips.Count);
        IReadOnlyList<CellStripEntry> deploy = strips[("keystone", "stable/2024.1", Cell)];
        Assert.Equal([(jobs[9], JobResult.Success, "c009"), (jobs[10], JobResult.Success, "c010"), (jobs[11], JobResult.Failure, "c011")],
            deploy.Select(e => (e.JobId, e.Result, e.CommitSha)));
        CellStripEntry only = Assert.Single(strips[("keystone", "stable/2024.1", "2023.1->2024.1/scenario001:upgrade")]);
        Assert.Equal((upgrade, JobResult.Timeout, 1), (only.JobId, only.Result, only.Attempt));
    }

    private static NewIdempotencyChange Motd => new("File", "/etc/motd", "content", "{md5}aaa", "{md5}bbb", "demo", "/etc/puppet/manifests/site.pp", 3);

    /// <summary>A run of one job that starts, runs <paramref name="minutes"/>, records its idempotency step's changes and ends.</summary>
    private async Task<long> FinishAsync(
        NewRun newRun, JobResult result, int minutes, string? signature = null, IReadOnlyList<NewIdempotencyChange>? changes = null, NewJob? job = null)
    {
        RunDetail run = await _store.Runs.CreateAsync(newRun, [job ?? Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        if (result != JobResult.Superseded)
        {
            await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
            _temp.Time.Advance(TimeSpan.FromMinutes(minutes));
        }

        await RecordChangesAsync(jobId, changes);
        await _store.Jobs.MarkFinishedAsync(jobId, result, "done", CancellationToken.None);
        await SetSignatureAsync(jobId, signature);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        return jobId;
    }

    /// <summary>
    /// A run whose first attempt failed and whose second, a rerun on the same lockfile, passed: the attempt chain comes
    /// from the store's own retry; which attempt is a rerun, and the failure's signature, are the finisher's to write.
    /// </summary>
    private async Task<(long Failed, long Rerun)> FailThenRerunAsync(string commit, IReadOnlyList<NewIdempotencyChange>? changes = null)
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(commitSha: commit), [Samples.Deploy()], CancellationToken.None);
        long first = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(first, null, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(2));
        await RecordChangesAsync(first, changes);
        JobCompletion completion = (await _store.Jobs.MarkFinishedAsync(
            first, new JobEnd(JobResult.Error, "engine gone") { TransientCause = true, MaxAttempts = 2 }, CancellationToken.None))!;
        long second = completion.Retry!.Id;
        await using (DbConnection connection = await _temp.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE jobs SET result = 'failure', failure_signature = @Signature WHERE id = @First; UPDATE jobs SET rerun_of = @First WHERE id = @Second",
                new { Signature, First = first, Second = second });
        }

        await _store.Jobs.MarkStartedAsync(second, null, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(3));
        await RecordChangesAsync(second, changes);
        await _store.Jobs.MarkFinishedAsync(second, JobResult.Flaky, "passed on rerun", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        return (first, second);
    }

    private async Task RecordChangesAsync(long jobId, IReadOnlyList<NewIdempotencyChange>? changes)
    {
        if (changes is null)
        {
            return;
        }

        DateTimeOffset at = _temp.Time.GetUtcNow();
        await _store.JobProgress.AddStepAsync(jobId, Samples.Step(1, at), CancellationToken.None);
        StepRecord idempotency = await _store.JobProgress.AddStepAsync(
            jobId, Samples.Step(2, at, StepKind.Idempotency, exitCode: 2, JobResult.Failure), CancellationToken.None);
        await _store.JobProgress.AddIdempotencyChangesAsync(jobId, idempotency.Id, changes, CancellationToken.None);
    }

    private async Task SetSignatureAsync(long jobId, string? signature)
    {
        if (signature is null)
        {
            return;
        }

        await using DbConnection connection = await _temp.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE jobs SET failure_signature = @Signature WHERE id = @JobId", new { Signature = signature, JobId = jobId });
    }
}

public sealed class CellHistoryStoreOnSqliteTests() : CellHistoryStoreTests(new TempDatabase());

[Trait("Category", "Postgres")]
public sealed class CellHistoryStoreOnPostgresTests() : CellHistoryStoreTests(new TempPostgresDatabase());
