using System.Data.Common;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>
/// Jobs: their life from queued to finished (ending each within <see cref="RetryPolicy"/>'s attempts) and reading
/// them back. What a job records on the way (modules, steps, changes) is <see cref="JobProgressStore"/>.
/// </summary>
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

    /// <summary>Whether a write failed because the database's disk is full (worth trying again once space is freed).</summary>
    public bool IsDiskFull(Exception exception) => _database.IsDiskFull(exception);

    /// <summary>
    /// Calls <paramref name="onQueued"/> whenever any instance queues a job (PostgreSQL's notification), until
    /// cancelled; returns at once on SQLite, where one instance queues its own jobs.
    /// </summary>
    public Task ListenForQueuedJobsAsync(Action onQueued, CancellationToken cancellationToken) =>
        _database.Dialect.ListenForQueuedJobsAsync(onQueued, cancellationToken);

    /// <summary>Whether the database server did not answer: a job's end is written again once it does.</summary>
    public bool IsUnavailable(Exception exception) => _database.IsUnavailable(exception);

    /// <summary>
    /// Moves a queued job to running, stamps its start (and its run's first start). Returns false when the job is
    /// no longer queued: it was cancelled or superseded while it waited, and must not run.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="imageId">The image the container is created from, as the engine names it.</param>
    /// <param name="logPath">The job's log file, absolute or relative to the data directory.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public Task<bool> MarkStartedAsync(long jobId, string? imageId, string? logPath, CancellationToken cancellationToken) =>
        MarkStartedAsync(jobId, imageId, logPath, instanceId: null, cancellationToken);

    /// <summary>
    /// As <see cref="MarkStartedAsync(long, string?, string?, CancellationToken)"/>, recording which serving instance
    /// (<c>Service:InstanceId</c>) runs the job.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public Task<bool> MarkStartedAsync(long jobId, string? imageId, string? logPath, string? instanceId, CancellationToken cancellationToken) =>
        MarkStartedAsync(jobId, imageId, logPath, instanceId, engine: null, cancellationToken);

    /// <summary>
    /// As <see cref="MarkStartedAsync(long, string?, string?, string?, CancellationToken)"/>, recording also which
    /// engine of the instance's pool (its name in <c>Docker:Engines</c>) runs the job.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public Task<bool> MarkStartedAsync(long jobId, string? imageId, string? logPath, string? instanceId, string? engine, CancellationToken cancellationToken)
    {
        const string StartJob = """
            UPDATE jobs SET state = 'running', started_at = @Now, image_id = @ImageId, log_path = @LogPath, instance_id = @InstanceId, engine = @Engine
            WHERE id = @JobId AND state = 'queued'
            """;
        const string StartRun = """
            UPDATE runs SET started_at = @Now
            WHERE id = (SELECT run_id FROM jobs WHERE id = @JobId) AND started_at IS NULL
            """;

        string now = DbValue.Time(DbValue.Now(_timeProvider));
        var parameters = new { JobId = jobId, Now = now, ImageId = imageId, LogPath = logPath, InstanceId = instanceId, Engine = engine };

        return _database.WriteAsync(
            async (connection, transaction) =>
            {
                int updated = await connection.ExecuteAsync(new CommandDefinition(StartJob, parameters, transaction, cancellationToken: cancellationToken));
                if (updated == 0)
                {
                    _ = await GetAsync(connection, transaction, jobId, cancellationToken) ?? throw NoSuchJob(jobId);
                    return false;
                }

                await connection.ExecuteAsync(new CommandDefinition(StartRun, parameters, transaction, cancellationToken: cancellationToken));
                return true;
            },
            cancellationToken);
    }

    /// <summary>Finishes a queued or running job with its result, never retried; see <see cref="MarkFinishedAsync(long, JobEnd, CancellationToken)"/>.</summary>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public Task<JobCompletion?> MarkFinishedAsync(long jobId, JobResult result, string? summary, CancellationToken cancellationToken) =>
        MarkFinishedAsync(jobId, new JobEnd(result, summary), cancellationToken);

    /// <summary>
    /// Finishes a queued or running job as <paramref name="end"/> says, all in one transaction: it records the
    /// package snapshot the job's node moved onto (part of its lockfile); when <see cref="RetryPolicy"/> grants the
    /// end another attempt, it queues the cell's next attempt as a new job of the same run
    /// (<see cref="JobCompletion.Retry"/>), so the run does not finish in between and the retried job does not become
    /// its cell's latest result; otherwise it updates the cell's latest result (see
    /// <see cref="ResultPolicy.UpdatesCell"/>) and, when this was the run's last unfinished job, finishes the run.
    /// Returns null when the job had already finished.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No job has that id.</exception>
    public async Task<JobCompletion?> MarkFinishedAsync(long jobId, JobEnd end, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(end);
        DateTimeOffset now = DbValue.Now(_timeProvider);

        JobCompletion? completion = await _database.WriteAsync(
            async (connection, transaction) =>
            {
                if (end.PackageSnapshot is { } snapshot)
                {
                    await JobFinisher.RecordPackageSnapshotAsync(connection, transaction, jobId, snapshot, cancellationToken);
                }

                await JobFinisher.RecordPhaseSnapshotsAsync(connection, transaction, jobId, end.PhaseSnapshots, cancellationToken);

                return await JobFinisher.FinishAsync(connection, transaction, jobId, end, now, cancellationToken);
            },
            cancellationToken);

        if (completion?.CompletedRun is { Result: { } runResult } run)
        {
            _logger.RunFinished(run.Id, runResult);
        }

        return completion;
    }

    /// <summary>
    /// Finishes every job still marked running with <paramref name="result"/>, all in one transaction. At start,
    /// before any job runs, those are the jobs a previous process left behind when it died. Each job's next attempt
    /// is queued while <see cref="RetryPolicy"/> grants one within <paramref name="maxAttempts"/>.
    /// </summary>
    /// <param name="result">How they ended (<see cref="JobResult.Interrupted"/> at start).</param>
    /// <param name="summary">Why.</param>
    /// <param name="maxAttempts">The most attempts a cell may have (<c>Service:MaxAttempts</c>); 1 never retries.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<IReadOnlyList<JobCompletion>> FinishAllRunningAsync(JobResult result, string? summary, int maxAttempts, CancellationToken cancellationToken)
    {
        const string SelectRunning = "SELECT id FROM jobs WHERE state = 'running' ORDER BY id";

        return await FinishRunningAsync(SelectRunning, parameters: null, new JobEnd(result, summary) { MaxAttempts = maxAttempts }, cancellationToken);
    }

    /// <summary>
    /// At an instance's start: finishes the running jobs its earlier process left, and those of <c>cirunner run</c>
    /// (no instance). Other instances' jobs are left to them, or, once their check-ins stop, to the live instances
    /// watching them (a start right after a database outage cannot tell a silent instance from one that has not
    /// checked in again yet).
    /// </summary>
    /// <param name="instanceId">The starting instance.</param>
    /// <param name="end">How they end (interrupted, with the attempts allowed).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public Task<IReadOnlyList<JobCompletion>> FinishRunningLeftBehindAsync(string instanceId, JobEnd end, CancellationToken cancellationToken)
    {
        const string SelectLeft = """
            SELECT id FROM jobs
            WHERE state = 'running' AND (instance_id IS NULL OR instance_id = @InstanceId)
            ORDER BY id
            """;

        return FinishRunningAsync(SelectLeft, new { InstanceId = instanceId }, end, cancellationToken);
    }

    /// <summary>
    /// Finishes the running jobs of one instance that stopped checking in (its lease ran out), as <paramref name="end"/>
    /// says; a live instance calls this once it has removed that instance's containers.
    /// </summary>
    public Task<IReadOnlyList<JobCompletion>> FinishRunningOfAsync(string instanceId, JobEnd end, CancellationToken cancellationToken)
    {
        const string SelectOfInstance = "SELECT id FROM jobs WHERE state = 'running' AND instance_id = @InstanceId ORDER BY id";

        return FinishRunningAsync(SelectOfInstance, new { InstanceId = instanceId }, end, cancellationToken);
    }

    private async Task<IReadOnlyList<JobCompletion>> FinishRunningAsync(string select, object? parameters, JobEnd end, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        IReadOnlyList<JobCompletion> completions = await FinishEachAsync(select, parameters, end, cancellationToken, operation);
        foreach (JobCompletion completion in completions)
        {
            _logger.RunningJobClosed(completion.Job.Id, completion.Job.RunId, end.Result);
        }

        return completions;
    }

    /// <summary>Like <see cref="FinishAllRunningAsync(JobResult, string?, int, CancellationToken)"/>, never retried.</summary>
    public Task<IReadOnlyList<JobCompletion>> FinishAllRunningAsync(JobResult result, string? summary, CancellationToken cancellationToken) =>
        FinishAllRunningAsync(result, summary, maxAttempts: 1, cancellationToken);

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

    private Task<IReadOnlyList<JobCompletion>> SupersedeAsync(string selectQueued, object parameters, long newerRunId, CancellationToken cancellationToken) =>
        FinishEachAsync(selectQueued, parameters, new JobEnd(JobResult.Superseded, $"superseded by run {newerRunId}"), cancellationToken);

    /// <summary>Finishes, in one transaction, every job <paramref name="selectJobs"/> names, as <paramref name="end"/> says.</summary>
    private async Task<IReadOnlyList<JobCompletion>> FinishEachAsync(
        string selectJobs, object? parameters, JobEnd end, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        DateTimeOffset now = DbValue.Now(_timeProvider);
        return await _database.WriteAsync<IReadOnlyList<JobCompletion>>(
            async (connection, transaction) =>
            {
                IEnumerable<long> jobIds = await connection.QueryAsync<long>(new CommandDefinition(selectJobs, parameters, transaction, cancellationToken: cancellationToken));
                var completions = new List<JobCompletion>();
                foreach (long jobId in jobIds.ToList())
                {
                    if (await JobFinisher.FinishAsync(connection, transaction, jobId, end, now, cancellationToken) is { } completion)
                    {
                        completions.Add(completion);
                    }
                }

                return completions;
            },
            cancellationToken,
            operation);
    }

    /// <summary>
    /// Asks the instance running a job to cancel it (a job running on another instance than the one whose API was
    /// asked). False when the job is not running.
    /// </summary>
    public async Task<bool> RequestCancelAsync(long jobId, string requestedBy, CancellationToken cancellationToken)
    {
        const string Request = "UPDATE jobs SET cancel_requested_by = @RequestedBy WHERE id = @JobId AND state = 'running'";

        return await _database.ExecuteWriteAsync(Request, new { JobId = jobId, RequestedBy = requestedBy }, cancellationToken) > 0;
    }

    /// <summary>The running jobs of one instance that someone asked, through any instance, to cancel.</summary>
    public async Task<IReadOnlyList<long>> ListCancelRequestsAsync(string instanceId, CancellationToken cancellationToken)
    {
        const string SelectRequested = """
            SELECT id FROM jobs WHERE state = 'running' AND instance_id = @InstanceId AND cancel_requested_by IS NOT NULL ORDER BY id
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<long>(new CommandDefinition(SelectRequested, new { InstanceId = instanceId }, cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Jobs in a state: the queue (highest priority, then oldest first) or the ones running.</summary>
    public async Task<IReadOnlyList<JobRecord>> ListByStateAsync(JobState state, CancellationToken cancellationToken)
    {
        const string SelectByState = "SELECT " + JobRow.Columns + """
             FROM jobs WHERE jobs.state = @State
            ORDER BY jobs.priority DESC, jobs.queued_at, jobs.id
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<JobRow> rows = await connection.QueryAsync<JobRow>(
            new CommandDefinition(SelectByState, new { State = DbValue.Text(state) }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>One job, or null when no job has that id.</summary>
    public async Task<JobRecord?> GetAsync(long jobId, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return await GetAsync(connection, transaction: null, jobId, cancellationToken);
    }

    /// <summary>One job with its modules (by phase, then name), steps (in order), idempotency changes and Tempest tests, or null when no job has that id.</summary>
    public async Task<JobDetail?> GetDetailAsync(long jobId, CancellationToken cancellationToken)
    {
        // Phases are put in the order a job runs them here, not in SQL: PhaseNames.Order is the one place that order is
        // written. The sort is stable, so each phase's rows keep the order the database gave them. A pruned job's changes
        // outlive its steps (the cell's drift history reads them); its detail shows neither, as before.
        const string SelectModules = "SELECT " + JobModuleRow.Columns + " FROM job_modules WHERE job_modules.job_id = @JobId ORDER BY job_modules.module";
        const string SelectSteps = "SELECT " + StepRow.Columns + " FROM steps WHERE steps.job_id = @JobId ORDER BY steps.ordinal";
        const string SelectChanges = "SELECT " + IdempotencyChangeRow.Columns + """
             FROM idempotency_changes WHERE idempotency_changes.job_id = @JobId AND idempotency_changes.step_id IS NOT NULL
            ORDER BY idempotency_changes.step_id, idempotency_changes.id
            """;
        const string SelectTempestTests = "SELECT " + TempestTestRow.Columns + """
             FROM tempest_tests WHERE tempest_tests.job_id = @JobId
            ORDER BY tempest_tests.step_ordinal, CASE tempest_tests.status WHEN 'failed' THEN 0 WHEN 'skipped' THEN 1 ELSE 2 END, tempest_tests.test_id
            """;

        const string SelectPhaseSnapshots = """
            SELECT phase AS Phase, role AS Role, image_id AS ImageId, snapshot_key AS Key, source_run_id AS SourceRunId, source_job_id AS SourceJobId
            FROM job_phase_snapshots WHERE job_id = @JobId
            ORDER BY role DESC
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);

        // A read transaction: the job and its parts come from the same snapshot.
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
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
        IEnumerable<PhaseSnapshotRow> phaseSnapshots = await connection.QueryAsync<PhaseSnapshotRow>(new CommandDefinition(SelectPhaseSnapshots, parameters, transaction, cancellationToken: cancellationToken));
        return new JobDetail(
            job,
            modules.Select(m => m.ToRecord()).OrderBy(m => PhaseNames.Order(m.Phase)).ToList(),
            steps.Select(s => s.ToRecord()).ToList(),
            changes.Select(c => c.ToRecord()).ToList())
        {
            TempestTests = tempestTests.Select(t => t.ToRecord()).ToList(),
            PhaseSnapshots = phaseSnapshots
                .Select(p => new PhaseSnapshot(p.Phase, p.Role, p.ImageId, p.Key, p.SourceRunId, p.SourceJobId))
                .OrderBy(p => PhaseNames.Order(p.Phase))
                .ToList(),
        };
    }

    /// <summary>
    /// The job's lockfile, or null when it has none: it never started, or it ran before CiRunner kept whole lockfiles
    /// (schema 19), so only its modules are known.
    /// </summary>
    public async Task<JobLockfile?> GetLockfileAsync(long jobId, CancellationToken cancellationToken)
    {
        const string SelectSpec = """
            SELECT scenario AS Scenario, image AS Image, image_release AS ImageRelease, network_mode AS NetworkMode, init_system AS Init,
                   package_snapshot_release AS PackageSnapshotRelease, package_snapshot_image AS PackageSnapshotImage, phases AS Phases
            FROM job_lockfiles WHERE job_id = @JobId
            """;
        const string SelectModules = "SELECT " + JobModuleRow.Columns + " FROM job_modules WHERE job_modules.job_id = @JobId ORDER BY job_modules.module";
        const string SelectFiles = """
            SELECT job_scenario_files.path AS Path, job_scenario_files.role AS Role, job_scenario_files.hash AS Hash, lockfile_texts.text AS Text
            FROM job_scenario_files JOIN lockfile_texts ON lockfile_texts.hash = job_scenario_files.hash
            WHERE job_scenario_files.job_id = @JobId
            ORDER BY CASE job_scenario_files.role WHEN 'scenario' THEN 0 WHEN 'manifest' THEN 1 ELSE 2 END, job_scenario_files.path
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
        JobRecord? job = await GetAsync(connection, transaction, jobId, cancellationToken);
        var parameters = new { JobId = jobId };
        LockfileRow? spec = job is null ? null
            : await connection.QuerySingleOrDefaultAsync<LockfileRow>(new CommandDefinition(SelectSpec, parameters, transaction, cancellationToken: cancellationToken));
        if (job is null || spec is null)
        {
            return null;
        }

        IEnumerable<JobModuleRow> modules = await connection.QueryAsync<JobModuleRow>(new CommandDefinition(SelectModules, parameters, transaction, cancellationToken: cancellationToken));
        IEnumerable<ScenarioText> files = await connection.QueryAsync<ScenarioText>(new CommandDefinition(SelectFiles, parameters, transaction, cancellationToken: cancellationToken));
        return new JobLockfile(
            spec.Scenario,
            modules.Select(m => m.ToRecord()).OrderBy(m => PhaseNames.Order(m.Phase)).ToList(),
            spec.Image,
            spec.ImageRelease,
            spec.NetworkMode,
            Enum.Parse<Matrix.InitSystem>(spec.Init, ignoreCase: true),
            spec.PackageSnapshotRelease,
            spec.PackageSnapshotImage,
            JobLockfile.ParsePhases(spec.Phases),
            files.ToList())
        {
            ImageId = job.ImageId,
            PackageSnapshot = job.PackageSnapshot,
        };
    }

    /// <summary>What a bisect step changes in the lockfile it runs (<see cref="BisectPin"/>); null for a job that is no bisect step.</summary>
    public async Task<BisectPin?> GetBisectPinAsync(long jobId, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return await BisectStore.PinOfAsync(connection, null, jobId, cancellationToken);
    }

    private sealed record LockfileRow(
        string Scenario, string Image, string? ImageRelease, string NetworkMode, string Init, string? PackageSnapshotRelease, string? PackageSnapshotImage, string Phases);

    internal static async Task<JobRecord?> GetAsync(DbConnection connection, DbTransaction? transaction, long jobId, CancellationToken cancellationToken)
    {
        const string SelectJob = "SELECT " + JobRow.Columns + " FROM jobs WHERE jobs.id = @JobId";

        JobRow? row = await connection.QuerySingleOrDefaultAsync<JobRow>(
            new CommandDefinition(SelectJob, new { JobId = jobId }, transaction, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    internal static KeyNotFoundException NoSuchJob(long jobId) => new($"Job {jobId} does not exist.");
}
