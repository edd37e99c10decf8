using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>
/// Finishes one job inside the caller's write transaction, with everything that must change with it: the cell's
/// next attempt when <see cref="RetryPolicy"/> grants one, the cell's latest verdict (<see cref="ResultPolicy"/>),
/// and, when it was the run's last unfinished job, the run and the reporters' outbox.
/// </summary>
internal static class JobFinisher
{
    /// <summary>Finishes the job; null when it had already finished.</summary>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public static async Task<JobCompletion?> FinishAsync(
        DbConnection connection, DbTransaction transaction, long jobId, JobEnd end, DateTimeOffset now, CancellationToken cancellationToken)
    {
        const string FinishJob = """
            UPDATE jobs SET state = 'finished', result = @Result, summary = @Summary, finished_at = @Now, duration_ms = @DurationMs,
                failure_signature = @Signature
            WHERE id = @JobId AND state <> 'finished'
            """;

        JobRecord job = await JobStore.GetAsync(connection, transaction, jobId, cancellationToken) ?? throw JobStore.NoSuchJob(jobId);
        if (job.State == JobState.Finished)
        {
            return null;
        }

        RunRecord run = await RunStore.GetAsync(connection, transaction, job.RunId, cancellationToken)
            ?? throw new InvalidOperationException($"Job {jobId} belongs to run {job.RunId}, which does not exist.");
        TimeSpan? duration = job.StartedAt is { } startedAt ? now - startedAt : null;
        string? summary = end.Summary;
        JobResult result = end.Result;
        string nowText = DbValue.Time(now);

        // A flake re-run that passed: the same lockfile failed before, so the cell is flaky, under the first failure's signature.
        string? signature = null;
        if (job.RerunOf is { } failedId && result == JobResult.Success)
        {
            result = FlakePolicy.ResultOfRerun(result);
            signature = await SignatureOfAsync(connection, transaction, failedId, cancellationToken);
            summary = string.IsNullOrEmpty(summary) ? FlakePolicy.FlakyNote(failedId, signature) : $"{FlakePolicy.FlakyNote(failedId, signature)}\n{summary}";
        }
        else if (result is JobResult.Failure or JobResult.Timeout)
        {
            signature = await FailedStepSignatureAsync(connection, transaction, jobId, summary, cancellationToken);
        }

        JobRecord? retry = null;
        if (end.Retries(job.Attempt))
        {
            var next = new NewJob(job.CellKey, job.Kind, job.Release, job.FromRelease, job.Scenario, job.Priority, job.Attempt + 1) { ReplayOf = job.ReplayOf, RerunOf = job.RerunOf };
            retry = await RunStore.QueueJobAsync(connection, transaction, job.RunId, next, now, retryOf: job.Id, cancellationToken);
            string retried = RetryPolicy.RetriedNote(retry.Id, retry.Attempt, end.MaxAttempts);
            summary = string.IsNullOrEmpty(summary) ? retried : $"{summary}\n{retried}";
        }
        else if (FlakePolicy.Reruns(result, run.Cause, job.ReplayOf, await RerunsSoFarAsync(connection, transaction, job, result, cancellationToken), end.FlakeReruns))
        {
            // The next attempt replays this job's lockfile exactly: nothing but chance may differ between the two.
            var next = new NewJob(job.CellKey, job.Kind, job.Release, job.FromRelease, job.Scenario, job.Priority, job.Attempt + 1) { RerunOf = job.Id };
            retry = await RunStore.QueueJobAsync(connection, transaction, job.RunId, next, now, retryOf: job.Id, cancellationToken);
            string rerun = FlakePolicy.RerunNote(retry.Id, retry.Attempt);
            summary = string.IsNullOrEmpty(summary) ? rerun : $"{summary}\n{rerun}";
        }

        await connection.ExecuteAsync(new CommandDefinition(
            FinishJob,
            new
            {
                JobId = jobId,
                Result = DbValue.Text(result),
                Summary = summary,
                Now = nowText,
                DurationMs = duration is { } d ? DbValue.Milliseconds(d) : (long?)null,
                Signature = signature,
            },
            transaction,
            cancellationToken: cancellationToken));

        // A retried attempt is not the cell's verdict: its next attempt's result will be. Nor is a replay or a bisect
        // step: they re-run a past job's lockfile, which says nothing about the cell's branch today.
        bool bisectRequested = false;
        if (retry is null && job.ReplayOf is null && run.Cause != RunCause.Bisect && ResultPolicy.UpdatesCell(result, run.ChangeRef))
        {
            bisectRequested = await UpdateCellAsync(connection, transaction, run, job, result, nowText, cancellationToken);
        }

        JobRecord finished = job with { State = JobState.Finished, Result = result, Summary = summary, FinishedAt = now, Duration = duration, FailureSignature = signature };

        // Before the run's end: a bisect's next step keeps its run open.
        (JobRecord? nextStep, BisectRecord? bisectEnded) = await BisectStore.AdvanceAsync(connection, transaction, finished, retry, now, cancellationToken);
        RunRecord? completedRun = await FinishRunIfDoneAsync(connection, transaction, run, now, cancellationToken);
        return new JobCompletion(finished, completedRun, retry)
        {
            BisectStep = nextStep,
            BisectEnded = bisectEnded,
            BisectRequested = bisectRequested,
        };
    }

    /// <summary>Keeps the package snapshot a job's node moved onto in its lockfile; a finished job is left as it is.</summary>
    public static Task RecordPackageSnapshotAsync(
        DbConnection connection, DbTransaction transaction, long jobId, PackageSnapshotInfo snapshot, CancellationToken cancellationToken)
    {
        const string SetSnapshot = """
            UPDATE jobs SET package_snapshot_release = @Release, package_snapshot_volume = @Volume,
                package_snapshot_id = @Id, package_snapshot_packages = @PackageCount
            WHERE id = @JobId AND state <> 'finished'
            """;

        return connection.ExecuteAsync(new CommandDefinition(
            SetSnapshot,
            new { JobId = jobId, snapshot.Release, snapshot.Volume, snapshot.Id, snapshot.PackageCount },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>Keeps the phase snapshots a job started from or made in its lockfile; a finished job is left as it is.</summary>
    public static async Task RecordPhaseSnapshotsAsync(
        DbConnection connection, DbTransaction transaction, long jobId, IReadOnlyList<PhaseSnapshot> snapshots, CancellationToken cancellationToken)
    {
        const string InsertSnapshot = """
            INSERT INTO job_phase_snapshots (job_id, phase, role, image_id, snapshot_key, source_run_id, source_job_id)
            SELECT @JobId, @Phase, @Role, @ImageId, @Key, @SourceRunId, @SourceJobId
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @JobId AND state <> 'finished')
            ON CONFLICT (job_id, phase, role) DO NOTHING
            """;

        foreach (PhaseSnapshot snapshot in snapshots)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                InsertSnapshot,
                new { JobId = jobId, snapshot.Phase, snapshot.Role, snapshot.ImageId, snapshot.Key, snapshot.SourceRunId, snapshot.SourceJobId },
                transaction,
                cancellationToken: cancellationToken));
        }
    }

    /// <summary>The signature of a job that failed or timed out: its first step that did, and the first error line of its summary.</summary>
    private static async Task<string> FailedStepSignatureAsync(
        DbConnection connection, DbTransaction transaction, long jobId, string? summary, CancellationToken cancellationToken)
    {
        const string SelectFailedStep = """
            SELECT phase AS Phase, name AS Name FROM steps
            WHERE job_id = @JobId AND result IN ('failure', 'timeout')
            ORDER BY ordinal
            LIMIT 1
            """;

        FailedStepRow? step = await connection.QuerySingleOrDefaultAsync<FailedStepRow>(new CommandDefinition(
            SelectFailedStep, new { JobId = jobId }, transaction, cancellationToken: cancellationToken));
        return FailureSignature.Of(step?.Phase, step?.Name, summary);
    }

    private sealed record FailedStepRow(string Phase, string Name);

    private static Task<string?> SignatureOfAsync(DbConnection connection, DbTransaction transaction, long jobId, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT failure_signature FROM jobs WHERE id = @JobId", new { JobId = jobId }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// How many flake re-runs the job's cell already had in its run (a re-run's retries share its failed job). Every
    /// attempt after a re-run carries <c>rerun_of</c> (retries copy it), so an attempt without it had none, and a job
    /// that passed is never re-run: neither needs the count, which keeps a query off the common finish.
    /// </summary>
    private static async Task<int> RerunsSoFarAsync(DbConnection connection, DbTransaction transaction, JobRecord job, JobResult result, CancellationToken cancellationToken)
    {
        if (job.RerunOf is null || result is not (JobResult.Failure or JobResult.Timeout))
        {
            return 0;
        }

        const string CountReruns = """
            SELECT COUNT(DISTINCT rerun_of) FROM jobs
            WHERE run_id = @RunId AND cell_key = @CellKey AND rerun_of IS NOT NULL
            """;

        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            CountReruns, new { job.RunId, job.CellKey }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Records the cell's new verdict; true when it turned from passed to red, and a bisect was asked for.</summary>
    private static async Task<bool> UpdateCellAsync(
        DbConnection connection, DbTransaction transaction, RunRecord run, JobRecord job, JobResult result, string nowText, CancellationToken cancellationToken)
    {
        const string SelectCell = """
            SELECT job_id AS JobId, result AS Result, finished_at AS FinishedAt FROM cell_results
            WHERE module = @Module AND branch = @Branch AND cell_key = @CellKey
            """;

        // The newest finish wins; an older job closed late (crash recovery) must not hide a newer verdict.
        const string UpsertCell = """
            INSERT INTO cell_results (module, branch, cell_key, job_id, result, commit_sha, finished_at)
            VALUES (@Module, @Branch, @CellKey, @JobId, @Result, @CommitSha, @Now)
            ON CONFLICT (module, branch, cell_key) DO UPDATE SET
                job_id = excluded.job_id, result = excluded.result, commit_sha = excluded.commit_sha, finished_at = excluded.finished_at
            WHERE excluded.finished_at >= cell_results.finished_at
            """;

        CellRow? previous = await connection.QuerySingleOrDefaultAsync<CellRow>(new CommandDefinition(
            SelectCell, new { run.Module, run.Branch, job.CellKey }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            UpsertCell,
            new { run.Module, run.Branch, job.CellKey, JobId = job.Id, Result = DbValue.Text(result), run.CommitSha, Now = nowText },
            transaction,
            cancellationToken: cancellationToken));

        // Passed, then failed or timed out: the service's bisect starter looks for the first bad commit (or dependency).
        bool turnedRed = previous is { Result: "success" or "flaky" } && string.CompareOrdinal(nowText, previous.FinishedAt) >= 0
            && result is JobResult.Failure or JobResult.Timeout;
        if (turnedRed)
        {
            await BisectStore.RequestAsync(connection, transaction, job.Id, previous!.JobId, nowText, cancellationToken);
        }

        return turnedRed;
    }

    private sealed record CellRow(long JobId, string Result, string FinishedAt);

    /// <summary>Finishes the run when none of its jobs is left unfinished, and asks for its reports; null while some are.</summary>
    private static async Task<RunRecord?> FinishRunIfDoneAsync(
        DbConnection connection, DbTransaction transaction, RunRecord run, DateTimeOffset now, CancellationToken cancellationToken)
    {
        const string UnfinishedJobsOfRun = "SELECT COUNT(*) FROM jobs WHERE run_id = @RunId AND state <> 'finished'";
        const string ResultsOfRun = "SELECT result FROM jobs WHERE run_id = @RunId AND " + JobRow.LatestAttempt;
        const string FinishRun = "UPDATE runs SET finished_at = @Now, result = @Result WHERE id = @RunId";

        var runParameters = new { RunId = run.Id };
        long unfinished = await connection.ExecuteScalarAsync<long>(new CommandDefinition(UnfinishedJobsOfRun, runParameters, transaction, cancellationToken: cancellationToken));
        if (unfinished > 0)
        {
            return null;
        }

        string nowText = DbValue.Time(now);
        IEnumerable<string> jobResults = await connection.QueryAsync<string>(new CommandDefinition(ResultsOfRun, runParameters, transaction, cancellationToken: cancellationToken));
        JobResult runResult = ResultPolicy.CombineRun(jobResults.Select(r => DbValue.Parse<JobResult>(r)));
        await connection.ExecuteAsync(new CommandDefinition(
            FinishRun,
            new { RunId = run.Id, Now = nowText, Result = DbValue.Text(runResult) },
            transaction,
            cancellationToken: cancellationToken));

        // The reporters' outbox, in the same transaction: a finished run is never left unreported, whatever happens next.
        await ReportStore.RequestAsync(connection, transaction, run.Id, nowText, cancellationToken);
        return run with { FinishedAt = now, Result = runResult };
    }
}
