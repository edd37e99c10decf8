using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>Runs: creating one with its queued jobs, listing recent ones, reading one with its jobs.</summary>
public sealed class RunStore
{
    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public RunStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// Stores a run and queues its jobs in one transaction, so the queue never sees half a matrix. A run without
    /// jobs (the matrix expanded to nothing) is finished at once as skipped.
    /// </summary>
    public async Task<RunDetail> CreateAsync(NewRun run, IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(jobs);

        DateTimeOffset now = DbValue.Now(_timeProvider);
        JobResult? emptyRunResult = jobs.Count == 0 ? JobResult.Skipped : null;
        DateTimeOffset? emptyRunFinishedAt = jobs.Count == 0 ? now : null;
        long? headGeneration = run.HeadRef is null ? null : run.SeenGeneration + 1;

        long runId;
        List<JobRecord> stored;
        try
        {
            (runId, stored) = await _database.WriteAsync(
                (connection, transaction) => InsertAsync(connection, transaction, run, jobs, now, emptyRunFinishedAt, emptyRunResult, headGeneration, cancellationToken),
                cancellationToken);
        }
        catch (DbException e) when (run.HeadRef is { } headRef && _database.Dialect.IsDuplicateKey(e))
        {
            // Writes are serialised, so the other instance's run was committed before this insert looked.
            throw new HeadAlreadyStartedException(
                run.Module, headRef, run.CommitSha, headGeneration!.Value, await RunOfHeadAsync(run.Module, headRef, headGeneration.Value, cancellationToken));
        }

        var record = new RunRecord(
            runId, run.Cause, run.Module, run.Branch, run.CommitSha, run.ChangeRef, run.PatchSet, run.RequestedBy,
            now, StartedAt: null, emptyRunFinishedAt, emptyRunResult)
        {
            TraceParent = run.TraceParent,
        };
        return new RunDetail(record, stored);
    }

    /// <summary>The run, its queued jobs and (for the poller) the head it claims, inside the writer's transaction.</summary>
    internal static async Task<(long RunId, List<JobRecord> Jobs)> InsertAsync(
        DbConnection connection,
        DbTransaction transaction,
        NewRun run,
        IReadOnlyList<NewJob> jobs,
        DateTimeOffset now,
        DateTimeOffset? emptyRunFinishedAt,
        JobResult? emptyRunResult,
        long? headGeneration,
        CancellationToken cancellationToken)
    {
        const string InsertRun = """
            INSERT INTO runs (cause, module, branch, commit_sha, change_ref, patch_set, requested_by, created_at, finished_at, result, trace_parent, head_ref, head_generation)
            VALUES (@Cause, @Module, @Branch, @CommitSha, @ChangeRef, @PatchSet, @RequestedBy, @CreatedAt, @FinishedAt, @Result, @TraceParent, @HeadRef, @HeadGeneration)
            RETURNING id
            """;

        long runId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertRun,
            new
            {
                Cause = DbValue.Text(run.Cause),
                run.Module,
                run.Branch,
                run.CommitSha,
                run.ChangeRef,
                run.PatchSet,
                run.RequestedBy,
                CreatedAt = DbValue.Time(now),
                FinishedAt = DbValue.Time(emptyRunFinishedAt),
                Result = DbValue.Text(emptyRunResult),
                run.TraceParent,
                run.HeadRef,
                HeadGeneration = headGeneration,
            },
            transaction,
            cancellationToken: cancellationToken));

        var stored = new List<JobRecord>(jobs.Count);
        foreach (NewJob job in jobs)
        {
            stored.Add(await QueueJobAsync(connection, transaction, runId, job, now, retryOf: null, cancellationToken));
        }

        if (run.HeadRef is { } headRef)
        {
            await PollStateStore.UpsertAsync(connection, transaction, run.Module, headRef, run.CommitSha, headGeneration!.Value, now, cancellationToken);
        }

        return (runId, stored);
    }

    private async Task<long?> RunOfHeadAsync(string module, string headRef, long generation, CancellationToken cancellationToken)
    {
        const string SelectRun = "SELECT id FROM runs WHERE module = @Module AND head_ref = @HeadRef AND head_generation = @Generation";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            SelectRun, new { Module = module, HeadRef = headRef, Generation = generation }, cancellationToken: cancellationToken));
    }

    /// <summary>The newest runs first, optionally of one module and/or branch, with their job counts.</summary>
    public async Task<IReadOnlyList<RunSummary>> ListRecentAsync(string? module, string? branch, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // One query per filter shape, so that each can use its index (a "@x IS NULL OR" filter cannot).
        const string Select = "SELECT " + RunRow.Columns + ", " + RunCountsRow.Columns + " FROM runs";
        const string Order = " ORDER BY runs.created_at DESC, runs.id DESC LIMIT @Limit";
        const string All = Select + Order;
        const string ByModule = Select + " WHERE runs.module = @Module" + Order;
        const string ByModuleAndBranch = Select + " WHERE runs.module = @Module AND runs.branch = @Branch" + Order;
        const string ByBranch = Select + " WHERE runs.branch = @Branch" + Order;

        string sql = (module, branch) switch
        {
            (null, null) => All,
            (not null, null) => ByModule,
            (not null, not null) => ByModuleAndBranch,
            (null, not null) => ByBranch,
        };

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<RunSummary> runs = await connection.QueryAsync<RunRow, RunCountsRow, RunSummary>(
            new CommandDefinition(sql, new { Module = module, Branch = branch, Limit = limit }, cancellationToken: cancellationToken),
            (run, counts) => new RunSummary(run.ToRecord(), checked((int)counts.JobCount), checked((int)counts.PassedCount)),
            splitOn: RunCountsRow.SplitOn);
        return runs.ToList();
    }

    /// <summary>The commit of the latest run of a module branch with this cause (branch runs only), or null when there is none.</summary>
    public async Task<string?> LastCommitAsync(string module, string branch, RunCause cause, CancellationToken cancellationToken)
    {
        const string SelectLast = """
            SELECT commit_sha FROM runs
            WHERE module = @Module AND branch = @Branch AND cause = @Cause AND change_ref IS NULL
            ORDER BY id DESC LIMIT 1
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            SelectLast,
            new { Module = module, Branch = branch, Cause = DbValue.Text(cause) },
            cancellationToken: cancellationToken));
    }

    public async Task<RunRecord?> GetAsync(long runId, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return await GetAsync(connection, transaction: null, runId, cancellationToken);
    }

    /// <summary>One run with its jobs in queue order, or null when no run has that id.</summary>
    public async Task<RunDetail?> GetDetailAsync(long runId, CancellationToken cancellationToken)
    {
        const string SelectJobs = "SELECT " + JobRow.Columns + " FROM jobs WHERE jobs.run_id = @RunId ORDER BY jobs.id";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);

        // A read transaction: the run and its jobs come from the same snapshot.
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
        RunRecord? run = await GetAsync(connection, transaction, runId, cancellationToken);
        if (run is null)
        {
            return null;
        }

        IEnumerable<JobRow> jobs = await connection.QueryAsync<JobRow>(
            new CommandDefinition(SelectJobs, new { RunId = runId }, transaction, cancellationToken: cancellationToken));
        return new RunDetail(run, jobs.Select(j => j.ToRecord()).ToList());
    }

    /// <summary>Queues one job of a run inside the caller's transaction: a cell of a new run, or a cell's next attempt (<paramref name="retryOf"/>).</summary>
    internal static async Task<JobRecord> QueueJobAsync(
        DbConnection connection, DbTransaction transaction, long runId, NewJob job, DateTimeOffset now, long? retryOf, CancellationToken cancellationToken)
    {
        const string InsertJob = """
            INSERT INTO jobs (run_id, cell_key, kind, release, from_release, scenario, priority, state, queued_at, attempt, retry_of, replay_of, rerun_of)
            VALUES (@RunId, @CellKey, @Kind, @Release, @FromRelease, @Scenario, @Priority, 'queued', @QueuedAt, @Attempt, @RetryOf, @ReplayOf, @RerunOf)
            RETURNING id
            """;

        long jobId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertJob,
            new
            {
                RunId = runId,
                job.CellKey,
                Kind = DbValue.Text(job.Kind),
                job.Release,
                job.FromRelease,
                job.Scenario,
                job.Priority,
                QueuedAt = DbValue.Time(now),
                job.Attempt,
                RetryOf = retryOf,
                job.ReplayOf,
                job.RerunOf,
            },
            transaction,
            cancellationToken: cancellationToken));
        return new JobRecord(
            jobId, runId, job.CellKey, job.Kind, job.Release, job.FromRelease, job.Scenario, job.Priority,
            JobState.Queued, Result: null, Summary: null, ImageId: null, QueuedAt: now, StartedAt: null, FinishedAt: null,
            Duration: null, LogPath: null, job.Attempt, retryOf) { ReplayOf = job.ReplayOf, RerunOf = job.RerunOf };
    }

    internal static async Task<RunRecord?> GetAsync(DbConnection connection, DbTransaction? transaction, long runId, CancellationToken cancellationToken)
    {
        const string SelectRun = "SELECT " + RunRow.Columns + " FROM runs WHERE runs.id = @RunId";

        RunRow? row = await connection.QuerySingleOrDefaultAsync<RunRow>(
            new CommandDefinition(SelectRun, new { RunId = runId }, transaction, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }
}
