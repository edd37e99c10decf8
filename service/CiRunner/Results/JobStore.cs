using System.Data.Common;
using CiRunner.Execution;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>Jobs: their life from queued to finished, and what they record on the way (modules, steps, changes).</summary>
public sealed class JobStore
{
    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<JobStore> _logger;

    public JobStore(ResultsDatabase database, TimeProvider timeProvider, ILogger<JobStore>? logger = null)
    {
        _database = database;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<JobStore>.Instance;
    }

    /// <summary>
    /// Moves a queued job to running, stamps its start (and its run's first start). Returns false when the job is
    /// no longer queued: it was cancelled or superseded while it waited, and must not run.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="imageId">The image the container is created from, as the engine names it.</param>
    /// <param name="logPath">The job's log file, absolute or relative to the data directory.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public async Task<bool> MarkStartedAsync(long jobId, string? imageId, string? logPath, CancellationToken cancellationToken)
    {
        const string StartJob = """
            UPDATE jobs SET state = 'running', started_at = @Now, image_id = @ImageId, log_path = @LogPath
            WHERE id = @JobId AND state = 'queued'
            """;
        const string StartRun = """
            UPDATE runs SET started_at = @Now
            WHERE id = (SELECT run_id FROM jobs WHERE id = @JobId) AND started_at IS NULL
            """;

        string now = DbValue.Time(DbValue.Now(_timeProvider));
        var parameters = new { JobId = jobId, Now = now, ImageId = imageId, LogPath = logPath };

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        int updated = await connection.ExecuteAsync(new CommandDefinition(StartJob, parameters, transaction, cancellationToken: cancellationToken));
        if (updated == 0)
        {
            _ = await GetAsync(connection, transaction, jobId, cancellationToken) ?? throw NoSuchJob(jobId);
            return false;
        }

        await connection.ExecuteAsync(new CommandDefinition(StartRun, parameters, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Records the image a running job's container started from, once the engine resolved it.</summary>
    public async Task SetImageAsync(long jobId, string imageId, CancellationToken cancellationToken)
    {
        const string SetImage = "UPDATE jobs SET image_id = @ImageId WHERE id = @JobId";

        await _database.ExecuteWriteAsync(SetImage, new { JobId = jobId, ImageId = imageId }, cancellationToken);
    }

    /// <summary>
    /// Finishes a queued or running job with its result. In the same transaction it updates the cell's latest
    /// result (see <see cref="ResultPolicy.UpdatesCell"/>) and, when this was the run's last unfinished job,
    /// finishes the run. Returns null when the job had already finished.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public Task<JobCompletion?> MarkFinishedAsync(long jobId, JobResult result, string? summary, CancellationToken cancellationToken) =>
        MarkFinishedAsync(jobId, result, summary, retryWithinAttempts: null, cancellationToken);

    /// <summary>
    /// Like <see cref="MarkFinishedAsync(long, JobResult, string?, CancellationToken)"/>, and when
    /// <paramref name="retryWithinAttempts"/> is set and the job's attempt is below it, queues the cell's next attempt
    /// as a new job of the same run (<see cref="JobCompletion.Retry"/>) in the same transaction: the run does not
    /// finish in between, and the retried job does not become its cell's latest result.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="result">How it ended.</param>
    /// <param name="summary">Why; a retry adds which job repeats it.</param>
    /// <param name="retryWithinAttempts">The most attempts a cell may have (<c>Service:MaxAttempts</c>); null when this end is never retried. Only <see cref="JobResult.Error"/>, <see cref="JobResult.Interrupted"/> and <see cref="JobResult.Cancelled"/> (by the service's own stop) are retried.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public Task<JobCompletion?> MarkFinishedAsync(long jobId, JobResult result, string? summary, int? retryWithinAttempts, CancellationToken cancellationToken) =>
        MarkFinishedAsync(jobId, result, summary, retryWithinAttempts, packageSnapshot: null, cancellationToken);

    /// <summary>
    /// Like <see cref="MarkFinishedAsync(long, JobResult, string?, int?, CancellationToken)"/>, and records the package
    /// snapshot the job's node moved onto (<see cref="JobOutcome.PackageSnapshot"/>) in the same transaction, as part
    /// of its lockfile.
    /// </summary>
    public async Task<JobCompletion?> MarkFinishedAsync(
        long jobId, JobResult result, string? summary, int? retryWithinAttempts, PackageSnapshotInfo? packageSnapshot, CancellationToken cancellationToken)
    {
        DateTimeOffset now = DbValue.Now(_timeProvider);

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        if (packageSnapshot is not null)
        {
            await RecordPackageSnapshotAsync(connection, transaction, jobId, packageSnapshot, cancellationToken);
        }

        JobCompletion? completion = await FinishAsync(connection, transaction, jobId, result, summary, now, retryWithinAttempts, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        if (completion?.CompletedRun is { Result: { } runResult } run)
        {
            _logger.RunFinished(run.Id, runResult);
        }

        return completion;
    }

    /// <summary>
    /// Finishes every job still marked running with <paramref name="result"/>, all in one transaction. At start,
    /// before any job runs, those are the jobs a previous process left behind when it died.
    /// </summary>
    public Task<IReadOnlyList<JobCompletion>> FinishAllRunningAsync(JobResult result, string? summary, CancellationToken cancellationToken) =>
        FinishAllRunningAsync(result, summary, retryWithinAttempts: null, cancellationToken);

    /// <summary>
    /// Like <see cref="FinishAllRunningAsync(JobResult, string?, CancellationToken)"/>, queuing each job's next attempt
    /// while it has attempts left (see <see cref="MarkFinishedAsync(long, JobResult, string?, int?, CancellationToken)"/>).
    /// </summary>
    public async Task<IReadOnlyList<JobCompletion>> FinishAllRunningAsync(JobResult result, string? summary, int? retryWithinAttempts, CancellationToken cancellationToken)
    {
        const string SelectRunning = "SELECT id FROM jobs WHERE state = 'running' ORDER BY id";

        DateTimeOffset now = DbValue.Now(_timeProvider);

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        IEnumerable<long> running = await connection.QueryAsync<long>(new CommandDefinition(SelectRunning, transaction: transaction, cancellationToken: cancellationToken));
        var completions = new List<JobCompletion>();
        foreach (long jobId in running.ToList())
        {
            JobCompletion? completion = await FinishAsync(connection, transaction, jobId, result, summary, now, retryWithinAttempts, cancellationToken);
            if (completion is not null)
            {
                completions.Add(completion);
            }
        }

        await transaction.CommitAsync(cancellationToken);

        foreach (JobCompletion completion in completions)
        {
            _logger.RunningJobClosed(completion.Job.Id, completion.Job.RunId, result);
        }

        return completions;
    }

    /// <summary>
    /// Ends as <see cref="JobResult.Superseded"/> every job that is still queued in an earlier run of the same
    /// module branch (branch-head and nightly runs only; patch-set runs test their own change), all in one
    /// transaction. Running jobs are left to finish. Returns the jobs it ended, so the caller can take them out of
    /// the in-process queue.
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="branch">The branch whose head moved.</param>
    /// <param name="newerRunId">The run for the new head; it and later runs are kept.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public Task<IReadOnlyList<JobCompletion>> SupersedeQueuedAsync(string module, string branch, long newerRunId, CancellationToken cancellationToken)
    {
        const string SelectQueued = """
            SELECT jobs.id FROM jobs JOIN runs ON runs.id = jobs.run_id
            WHERE runs.module = @Module AND runs.branch = @Branch AND runs.id < @NewerRunId AND runs.change_ref IS NULL
              AND runs.cause IN ('commit', 'nightly') AND jobs.state = 'queued'
            ORDER BY jobs.id
            """;

        return SupersedeAsync(SelectQueued, new { Module = module, Branch = branch, NewerRunId = newerRunId }, newerRunId, cancellationToken);
    }

    /// <summary>
    /// Like <see cref="SupersedeQueuedAsync"/> for a Gerrit change: a new patch set supersedes the queued jobs of
    /// the change's earlier patch sets (<c>refs/changes/45/12345/1</c> by <c>.../2</c>), recheck runs included.
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="changeRefPrefix">The change's refs without the patch set number: <c>refs/changes/45/12345/</c>.</param>
    /// <param name="newerRunId">The run for the new patch set.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public Task<IReadOnlyList<JobCompletion>> SupersedeQueuedPatchSetsAsync(string module, string changeRefPrefix, long newerRunId, CancellationToken cancellationToken)
    {
        // substr rather than LIKE: no wildcard in the prefix to escape.
        const string SelectQueued = """
            SELECT jobs.id FROM jobs JOIN runs ON runs.id = jobs.run_id
            WHERE runs.module = @Module AND runs.id < @NewerRunId AND runs.change_ref IS NOT NULL
              AND substr(runs.change_ref, 1, length(@Prefix)) = @Prefix AND jobs.state = 'queued'
            ORDER BY jobs.id
            """;

        return SupersedeAsync(SelectQueued, new { Module = module, Prefix = changeRefPrefix, NewerRunId = newerRunId }, newerRunId, cancellationToken);
    }

    private async Task<IReadOnlyList<JobCompletion>> SupersedeAsync(string selectQueued, object parameters, long newerRunId, CancellationToken cancellationToken)
    {
        DateTimeOffset now = DbValue.Now(_timeProvider);
        string summary = $"superseded by run {newerRunId}";

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        IEnumerable<long> queued = await connection.QueryAsync<long>(new CommandDefinition(selectQueued, parameters, transaction, cancellationToken: cancellationToken));
        var completions = new List<JobCompletion>();
        foreach (long jobId in queued.ToList())
        {
            JobCompletion? completion = await FinishAsync(connection, transaction, jobId, JobResult.Superseded, summary, now, retryWithinAttempts: null, cancellationToken);
            if (completion is not null)
            {
                completions.Add(completion);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return completions;
    }

    /// <summary>Jobs in a state: the queue (highest priority, then oldest first) or the ones running.</summary>
    public async Task<IReadOnlyList<JobRecord>> ListByStateAsync(JobState state, CancellationToken cancellationToken)
    {
        const string SelectByState = "SELECT " + JobRow.Columns + """
             FROM jobs WHERE jobs.state = @State
            ORDER BY jobs.priority DESC, jobs.queued_at, jobs.id
            """;

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<JobRow> rows = await connection.QueryAsync<JobRow>(
            new CommandDefinition(SelectByState, new { State = DbValue.Text(state) }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>Records a finished step of a job.</summary>
    /// <exception cref="SqliteException">The job does not exist, or it already has a step with that ordinal.</exception>
    public async Task<StepRecord> AddStepAsync(long jobId, NewStep step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);

        const string InsertStep = """
            INSERT INTO steps (job_id, ordinal, phase, name, kind, started_at, finished_at, duration_ms, exit_code, result)
            VALUES (@JobId, @Ordinal, @Phase, @Name, @Kind, @StartedAt, @FinishedAt, @DurationMs, @ExitCode, @Result)
            RETURNING id
            """;

        DateTimeOffset startedAt = DbValue.Truncate(step.StartedAt);
        DateTimeOffset finishedAt = DbValue.Truncate(step.FinishedAt);
        TimeSpan duration = finishedAt - startedAt;

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        long stepId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertStep,
            new
            {
                JobId = jobId,
                step.Ordinal,
                step.Phase,
                step.Name,
                Kind = DbValue.Text(step.Kind),
                StartedAt = DbValue.Time(startedAt),
                FinishedAt = DbValue.Time(finishedAt),
                DurationMs = DbValue.Milliseconds(duration),
                step.ExitCode,
                Result = DbValue.Text(step.Result),
            },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);

        return new StepRecord(stepId, jobId, step.Ordinal, step.Phase, step.Name, step.Kind, startedAt, finishedAt, duration, step.ExitCode, step.Result);
    }

    /// <summary>Records the resources an idempotency step changed, all in one transaction.</summary>
    /// <exception cref="ArgumentException">The step does not belong to the job.</exception>
    public async Task AddIdempotencyChangesAsync(long jobId, long stepId, IReadOnlyList<NewIdempotencyChange> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);

        const string StepOfJob = "SELECT COUNT(*) FROM steps WHERE id = @StepId AND job_id = @JobId";
        const string InsertChange = """
            INSERT INTO idempotency_changes
                (job_id, step_id, resource_type, title, property, previous_value, desired_value, module, manifest_file, line)
            VALUES
                (@JobId, @StepId, @ResourceType, @Title, @Property, @PreviousValue, @DesiredValue, @Module, @ManifestFile, @Line)
            """;

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);

        // job_id is kept beside step_id so a job's changes are read without a join; it must agree with the step.
        long matching = await connection.ExecuteScalarAsync<long>(
            new CommandDefinition(StepOfJob, new { JobId = jobId, StepId = stepId }, transaction, cancellationToken: cancellationToken));
        if (matching == 0)
        {
            throw new ArgumentException($"Step {stepId} is not a step of job {jobId}.", nameof(stepId));
        }

        foreach (NewIdempotencyChange change in changes)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                InsertChange,
                new
                {
                    JobId = jobId,
                    StepId = stepId,
                    change.ResourceType,
                    change.Title,
                    change.Property,
                    change.PreviousValue,
                    change.DesiredValue,
                    change.Module,
                    change.ManifestFile,
                    change.Line,
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Records every test a tempest step ran, all in one transaction.</summary>
    /// <exception cref="ArgumentException">The step does not belong to the job.</exception>
    public async Task AddTempestTestsAsync(long jobId, long stepId, IReadOnlyList<TempestTestResult> tests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tests);

        const string StepOfJob = "SELECT phase AS Phase, ordinal AS Ordinal FROM steps WHERE id = @StepId AND job_id = @JobId";
        const string InsertTest = """
            INSERT INTO tempest_tests
                (job_id, step_id, phase, step_ordinal, test_id, class_name, status, duration_ms, traceback, skip_reason)
            VALUES
                (@JobId, @StepId, @Phase, @StepOrdinal, @TestId, @ClassName, @Status, @DurationMs, @Traceback, @SkipReason)
            """;

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        StepOfJobRow step = await connection.QuerySingleOrDefaultAsync<StepOfJobRow>(
            new CommandDefinition(StepOfJob, new { JobId = jobId, StepId = stepId }, transaction, cancellationToken: cancellationToken))
            ?? throw new ArgumentException($"Step {stepId} is not a step of job {jobId}.", nameof(stepId));

        // One statement, many parameter sets: Dapper runs it per test inside the transaction.
        await connection.ExecuteAsync(new CommandDefinition(
            InsertTest,
            tests.Select(test => new
            {
                JobId = jobId,
                StepId = stepId,
                step.Phase,
                StepOrdinal = step.Ordinal,
                test.TestId,
                test.ClassName,
                Status = DbValue.Text(test.Status),
                DurationMs = DbValue.Milliseconds(test.Duration),
                test.Traceback,
                test.SkipReason,
            }),
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Records the job's lockfile: the commit of every module each phase installed. Recording a module of a phase again replaces it.</summary>
    public async Task RecordModulesAsync(long jobId, IReadOnlyList<JobModuleRecord> modules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(modules);

        const string UpsertModule = """
            INSERT INTO job_modules (job_id, phase, module, git_url, ref, commit_sha)
            VALUES (@JobId, @Phase, @Module, @GitUrl, @Ref, @CommitSha)
            ON CONFLICT (job_id, phase, module) DO UPDATE SET git_url = excluded.git_url, ref = excluded.ref, commit_sha = excluded.commit_sha
            """;

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.BeginWriteAsync(connection, cancellationToken);
        foreach (JobModuleRecord module in modules)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                UpsertModule,
                new { JobId = jobId, module.Phase, module.Module, module.GitUrl, module.Ref, module.CommitSha },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task RecordPackageSnapshotAsync(
        SqliteConnection connection, DbTransaction transaction, long jobId, PackageSnapshotInfo snapshot, CancellationToken cancellationToken)
    {
        const string SetSnapshot = """
            UPDATE jobs SET package_snapshot_release = @Release, package_snapshot_volume = @Volume,
                package_snapshot_id = @Id, package_snapshot_packages = @PackageCount
            WHERE id = @JobId AND state <> 'finished'
            """;

        await connection.ExecuteAsync(new CommandDefinition(
            SetSnapshot,
            new { JobId = jobId, snapshot.Release, snapshot.Volume, snapshot.Id, snapshot.PackageCount },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>One job, or null when no job has that id.</summary>
    public async Task<JobRecord?> GetAsync(long jobId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
        return await GetAsync(connection, transaction: null, jobId, cancellationToken);
    }

    // Phases in the order a job runs them, whatever their names sort to.
    private const string PhaseOrder = "CASE job_modules.phase WHEN 'deploy' THEN 0 WHEN 'upgrade' THEN 1 WHEN 'rollback' THEN 2 ELSE 3 END";

    /// <summary>One job with its modules (by phase, then name), steps (in order), idempotency changes and Tempest tests, or null when no job has that id.</summary>
    public async Task<JobDetail?> GetDetailAsync(long jobId, CancellationToken cancellationToken)
    {
        const string SelectModules = "SELECT " + JobModuleRow.Columns + " FROM job_modules WHERE job_modules.job_id = @JobId ORDER BY " + PhaseOrder + ", job_modules.module";
        const string SelectSteps = "SELECT " + StepRow.Columns + " FROM steps WHERE steps.job_id = @JobId ORDER BY steps.ordinal";
        const string SelectChanges = "SELECT " + IdempotencyChangeRow.Columns + """
             FROM idempotency_changes WHERE idempotency_changes.job_id = @JobId
            ORDER BY idempotency_changes.step_id, idempotency_changes.id
            """;
        const string SelectTempestTests = "SELECT " + TempestTestRow.Columns + """
             FROM tempest_tests WHERE tempest_tests.job_id = @JobId
            ORDER BY tempest_tests.step_ordinal, CASE tempest_tests.status WHEN 'failed' THEN 0 WHEN 'skipped' THEN 1 ELSE 2 END, tempest_tests.test_id
            """;

        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);

        // A deferred (read) transaction: the job and its parts come from the same snapshot.
        await using SqliteTransaction transaction = connection.BeginTransaction(deferred: true);
        JobRecord? job = await GetAsync(connection, transaction, jobId, cancellationToken);
        if (job is null)
        {
            return null;
        }

        var parameters = new { JobId = jobId };
        IEnumerable<JobModuleRow> modules = await connection.QueryAsync<JobModuleRow>(new CommandDefinition(SelectModules, parameters, transaction, cancellationToken: cancellationToken));
        IEnumerable<StepRow> steps = await connection.QueryAsync<StepRow>(new CommandDefinition(SelectSteps, parameters, transaction, cancellationToken: cancellationToken));
        IEnumerable<IdempotencyChangeRow> changes = await connection.QueryAsync<IdempotencyChangeRow>(new CommandDefinition(SelectChanges, parameters, transaction, cancellationToken: cancellationToken));
        IEnumerable<TempestTestRow> tempestTests = await connection.QueryAsync<TempestTestRow>(new CommandDefinition(SelectTempestTests, parameters, transaction, cancellationToken: cancellationToken));
        return new JobDetail(
            job,
            modules.Select(m => m.ToRecord()).ToList(),
            steps.Select(s => s.ToRecord()).ToList(),
            changes.Select(c => c.ToRecord()).ToList())
        {
            TempestTests = tempestTests.Select(t => t.ToRecord()).ToList(),
        };
    }

    private static async Task<JobRecord?> GetAsync(SqliteConnection connection, DbTransaction? transaction, long jobId, CancellationToken cancellationToken)
    {
        const string SelectJob = "SELECT " + JobRow.Columns + " FROM jobs WHERE jobs.id = @JobId";

        JobRow? row = await connection.QuerySingleOrDefaultAsync<JobRow>(
            new CommandDefinition(SelectJob, new { JobId = jobId }, transaction, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    /// <summary>Finishes one job inside the caller's transaction; see <see cref="MarkFinishedAsync(long, JobResult, string?, int?, CancellationToken)"/>.</summary>
    private static async Task<JobCompletion?> FinishAsync(
        SqliteConnection connection,
        DbTransaction transaction,
        long jobId,
        JobResult result,
        string? summary,
        DateTimeOffset now,
        int? retryWithinAttempts,
        CancellationToken cancellationToken)
    {
        const string FinishJob = """
            UPDATE jobs SET state = 'finished', result = @Result, summary = @Summary, finished_at = @Now, duration_ms = @DurationMs
            WHERE id = @JobId AND state <> 'finished'
            """;

        // The newest finish wins; an older job closed late (crash recovery) must not hide a newer verdict.
        const string UpsertCell = """
            INSERT INTO cell_results (module, branch, cell_key, job_id, result, commit_sha, finished_at)
            VALUES (@Module, @Branch, @CellKey, @JobId, @Result, @CommitSha, @Now)
            ON CONFLICT (module, branch, cell_key) DO UPDATE SET
                job_id = excluded.job_id, result = excluded.result, commit_sha = excluded.commit_sha, finished_at = excluded.finished_at
            WHERE excluded.finished_at >= cell_results.finished_at
            """;
        const string UnfinishedJobsOfRun = "SELECT COUNT(*) FROM jobs WHERE run_id = @RunId AND state <> 'finished'";
        const string ResultsOfRun = "SELECT result FROM jobs WHERE run_id = @RunId AND " + JobRow.LatestAttempt;
        const string FinishRun = "UPDATE runs SET finished_at = @Now, result = @Result WHERE id = @RunId";

        JobRecord job = await GetAsync(connection, transaction, jobId, cancellationToken) ?? throw NoSuchJob(jobId);
        if (job.State == JobState.Finished)
        {
            return null;
        }

        TimeSpan? duration = job.StartedAt is { } startedAt ? now - startedAt : null;
        string resultText = DbValue.Text(result);
        string nowText = DbValue.Time(now);

        // Only an end that says nothing about the module is worth another attempt, whatever the caller asks.
        JobRecord? retry = null;
        if (retryWithinAttempts is { } maxAttempts && job.Attempt < maxAttempts && result is JobResult.Error or JobResult.Interrupted or JobResult.Cancelled)
        {
            var next = new NewJob(job.CellKey, job.Kind, job.Release, job.FromRelease, job.Scenario, job.Priority, job.Attempt + 1);
            retry = await RunStore.QueueJobAsync(connection, transaction, job.RunId, next, now, retryOf: job.Id, cancellationToken);
            string retried = $"Retried as job {retry.Id} (attempt {retry.Attempt} of {maxAttempts}).";
            summary = string.IsNullOrEmpty(summary) ? retried : $"{summary}\n{retried}";
        }

        await connection.ExecuteAsync(new CommandDefinition(
            FinishJob,
            new { JobId = jobId, Result = resultText, Summary = summary, Now = nowText, DurationMs = duration is { } d ? DbValue.Milliseconds(d) : (long?)null },
            transaction,
            cancellationToken: cancellationToken));

        RunRecord run = await RunStore.GetAsync(connection, transaction, job.RunId, cancellationToken)
            ?? throw new InvalidOperationException($"Job {jobId} belongs to run {job.RunId}, which does not exist.");

        // A retried attempt is not the cell's verdict: its next attempt's result will be.
        if (retry is null && ResultPolicy.UpdatesCell(result, run.ChangeRef))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                UpsertCell,
                new { run.Module, run.Branch, job.CellKey, JobId = jobId, Result = resultText, run.CommitSha, Now = nowText },
                transaction,
                cancellationToken: cancellationToken));
        }

        JobRecord finished = job with { State = JobState.Finished, Result = result, Summary = summary, FinishedAt = now, Duration = duration };

        var runParameters = new { RunId = run.Id };
        long unfinished = await connection.ExecuteScalarAsync<long>(new CommandDefinition(UnfinishedJobsOfRun, runParameters, transaction, cancellationToken: cancellationToken));
        if (unfinished > 0)
        {
            return new JobCompletion(finished, CompletedRun: null, retry);
        }

        IEnumerable<string> jobResults = await connection.QueryAsync<string>(new CommandDefinition(ResultsOfRun, runParameters, transaction, cancellationToken: cancellationToken));
        JobResult runResult = ResultPolicy.CombineRun(jobResults.Select(r => DbValue.Parse<JobResult>(r)));
        await connection.ExecuteAsync(new CommandDefinition(
            FinishRun,
            new { RunId = run.Id, Now = nowText, Result = DbValue.Text(runResult) },
            transaction,
            cancellationToken: cancellationToken));

        // The reporters' outbox, in the same transaction: a finished run is never left unreported, whatever happens next.
        await ReportStore.RequestAsync(connection, transaction, run.Id, nowText, cancellationToken);
        return new JobCompletion(finished, run with { FinishedAt = now, Result = runResult });
    }

    private static KeyNotFoundException NoSuchJob(long jobId) => new($"Job {jobId} does not exist.");

    private sealed record StepOfJobRow(string Phase, long Ordinal);
}
