using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>
/// Bisects: the requests a red cell leaves, the searches with their history and steps, and the step that follows
/// each finished one (decided by <see cref="BisectSearch"/> inside the transaction that finished it).
/// </summary>
public sealed class BisectStore
{
    private const string Columns = """
        bisects.id AS Id, bisects.run_id AS RunId, bisects.module AS Module, bisects.branch AS Branch, bisects.cell_key AS CellKey,
        bisects.target_module AS TargetModule, bisects.good_sha AS GoodSha, bisects.bad_sha AS BadSha, bisects.good_job_id AS GoodJobId,
        bisects.bad_job_id AS BadJobId, bisects.check_good AS CheckGood, bisects.max_jobs AS MaxJobs, bisects.retries AS Retries,
        bisects.state AS State, bisects.verdict AS Verdict, bisects.culprit_sha AS CulpritSha, bisects.culprit_author AS CulpritAuthor,
        bisects.culprit_subject AS CulpritSubject, bisects.summary AS Summary, bisects.created_at AS CreatedAt, bisects.finished_at AS FinishedAt
        """;

    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public BisectStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// Stores the bisect, its run (cause <c>bisect</c>) and its first step, the bad commit, in one transaction; the
    /// caller queues the step. <paramref name="firstStep"/> is the cell; with no <see cref="NewBisect.BadJobId"/> the
    /// step is made from today's configuration and becomes the job every later step replays.
    /// </summary>
    public async Task<(BisectRecord Bisect, RunDetail Run)> CreateAsync(NewBisect bisect, NewJob firstStep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bisect);
        ArgumentNullException.ThrowIfNull(firstStep);
        if (bisect.Commits.Count < 2)
        {
            throw new ArgumentException("A bisect needs a good and a bad commit.", nameof(bisect));
        }

        const string InsertBisect = """
            INSERT INTO bisects (run_id, module, branch, cell_key, target_module, good_sha, bad_sha, good_job_id, bad_job_id, check_good,
                max_jobs, retries, state, created_at)
            VALUES (@RunId, @Module, @Branch, @CellKey, @TargetModule, @GoodSha, @BadSha, @GoodJobId, @BadJobId, @CheckGood,
                @MaxJobs, @Retries, 'running', @Now)
            RETURNING id
            """;
        const string InsertCommit = "INSERT INTO bisect_commits (bisect_id, position, sha, author, subject) VALUES (@BisectId, @Position, @Sha, @Author, @Subject)";

        DateTimeOffset now = DbValue.Now(_timeProvider);
        int badPosition = bisect.Commits.Count - 1;
        var run = new NewRun(RunCause.Bisect, bisect.Module, bisect.Branch, bisect.RunCommit, RequestedBy: bisect.RequestedBy);
        NewJob step = firstStep with { Priority = JobPriority.Bisect };
        step = step with { ReplayOf = bisect.BadJobId };
        return await _database.WriteAsync(
            async (connection, transaction) =>
            {
                (long runId, List<JobRecord> jobs) = await RunStore.InsertAsync(connection, transaction, run, [step], now, null, null, null, cancellationToken);
                long badJobId = bisect.BadJobId ?? jobs[0].Id;
                long bisectId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    InsertBisect,
                    new
                    {
                        RunId = runId,
                        bisect.Module,
                        bisect.Branch,
                        bisect.CellKey,
                        bisect.TargetModule,
                        GoodSha = bisect.Commits[0].Sha,
                        BadSha = bisect.Commits[badPosition].Sha,
                        bisect.GoodJobId,
                        BadJobId = badJobId,
                        CheckGood = bisect.CheckGood ? 1 : 0,
                        bisect.MaxJobs,
                        bisect.Retries,
                        Now = DbValue.Time(now),
                    },
                    transaction,
                    cancellationToken: cancellationToken));
                foreach (BisectCommit commit in bisect.Commits)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        InsertCommit, new { BisectId = bisectId, commit.Position, commit.Sha, commit.Author, commit.Subject }, transaction, cancellationToken: cancellationToken));
                }

                await AddStepAsync(connection, transaction, bisectId, jobs[0].Id, badPosition, cancellationToken);
                BisectRecord stored = (await GetAsync(connection, transaction, bisectId, cancellationToken))!;
                RunRecord runRecord = (await RunStore.GetAsync(connection, transaction, runId, cancellationToken))!;
                return (stored, new RunDetail(runRecord, jobs));
            },
            cancellationToken);
    }

    /// <summary>The red jobs waiting for the service to start their bisects, oldest first.</summary>
    public async Task<IReadOnlyList<(long BadJobId, long GoodJobId)>> ListRequestsAsync(int limit, CancellationToken cancellationToken)
    {
        const string Select = "SELECT bad_job_id AS BadJobId, good_job_id AS GoodJobId FROM bisect_requests ORDER BY created_at, bad_job_id LIMIT @Limit";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<RequestRow> rows = await connection.QueryAsync<RequestRow>(new CommandDefinition(Select, new { Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => (r.BadJobId, r.GoodJobId)).ToList();
    }

    /// <summary>Removes a request once it became bisects, or was found to need none.</summary>
    public Task DeleteRequestAsync(long badJobId, CancellationToken cancellationToken) =>
        _database.ExecuteWriteAsync("DELETE FROM bisect_requests WHERE bad_job_id = @BadJobId", new { BadJobId = badJobId }, cancellationToken);

    /// <summary>One bisect with its history and steps, or null.</summary>
    public async Task<BisectDetail?> GetDetailAsync(long bisectId, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
        return await DetailAsync(connection, transaction, bisectId, cancellationToken);
    }

    /// <summary>The bisect whose run this is (cause <c>bisect</c>), or null.</summary>
    public async Task<BisectDetail?> ForRunAsync(long runId, CancellationToken cancellationToken)
    {
        const string Select = "SELECT id FROM bisects WHERE run_id = @RunId";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
        long? id = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(Select, new { RunId = runId }, transaction, cancellationToken: cancellationToken));
        return id is { } bisectId ? await DetailAsync(connection, transaction, bisectId, cancellationToken) : null;
    }

    /// <summary>The bisects started for these red jobs (a red job whose dependencies moved may have several), oldest first.</summary>
    public async Task<IReadOnlyList<BisectRecord>> OfRedJobsAsync(IReadOnlyCollection<long> jobIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        if (jobIds.Count == 0)
        {
            return [];
        }

        // A bisect of cirunner bisect has no red job of its own (its first step is its bad job, in its own run): only
        // the service's bisects, which know the last green job, belong to a red job.
        string select = $"SELECT {Columns} FROM bisects WHERE bisects.bad_job_id {_database.Dialect.InList("@JobIds")} AND bisects.good_job_id IS NOT NULL ORDER BY bisects.id";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<BisectRow> rows = await connection.QueryAsync<BisectRow>(new CommandDefinition(select, new { JobIds = jobIds.ToArray() }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>The bisects of a module's cells (of one branch, or all), newest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<BisectRecord>> ListAsync(string? module, string? branch, int limit, CancellationToken cancellationToken)
    {
        const string Select = "SELECT " + Columns + " FROM bisects WHERE (@Module IS NULL OR bisects.module = @Module) AND (@Branch IS NULL OR bisects.branch = @Branch) ORDER BY bisects.id DESC LIMIT @Limit";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<BisectRow> rows = await connection.QueryAsync<BisectRow>(new CommandDefinition(Select, new { Module = module, Branch = branch, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>What a bisect step changes in the lockfile it runs; null for a job that is no bisect step.</summary>
    internal static async Task<BisectPin?> PinOfAsync(DbConnection connection, DbTransaction? transaction, long jobId, CancellationToken cancellationToken)
    {
        const string Select = """
            SELECT bisects.target_module AS Module, bisects.bad_sha AS BadSha, bisect_commits.sha AS Sha,
                   bisects.bad_job_id AS BadJobId, bisects.module AS RunModule
            FROM bisect_steps
            JOIN bisects ON bisects.id = bisect_steps.bisect_id
            JOIN bisect_commits ON bisect_commits.bisect_id = bisect_steps.bisect_id AND bisect_commits.position = bisect_steps.position
            WHERE bisect_steps.job_id = @JobId
            """;

        PinRow? row = await connection.QuerySingleOrDefaultAsync<PinRow>(new CommandDefinition(Select, new { JobId = jobId }, transaction, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        // A step replaying the red job changes the searched module where the red job ran the bad commit. The first step
        // of cirunner bisect is made from today's configuration: the module under test runs the run's commit (the bad
        // one) there already, and a dependency's every entry is changed.
        if (row.BadJobId == jobId)
        {
            return row.Module == row.RunModule ? null : new BisectPin(row.Module, null, row.Sha);
        }

        return new BisectPin(row.Module, row.BadSha, row.Sha);
    }

    /// <summary>Asks for a bisect of a red job, inside the transaction that finished it.</summary>
    internal static Task RequestAsync(DbConnection connection, DbTransaction transaction, long badJobId, long goodJobId, string nowText, CancellationToken cancellationToken)
    {
        const string Insert = """
            INSERT INTO bisect_requests (bad_job_id, good_job_id, created_at) VALUES (@BadJobId, @GoodJobId, @Now)
            ON CONFLICT (bad_job_id) DO NOTHING
            """;

        return connection.ExecuteAsync(new CommandDefinition(Insert, new { BadJobId = badJobId, GoodJobId = goodJobId, Now = nowText }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// After a job finished: when it was a bisect step, the step that follows (queued here, in the same transaction, for
    /// the caller to put in the queue), or the bisect's end. A retried step hands its position to the retry.
    /// </summary>
    internal static async Task<(JobRecord? Next, BisectRecord? Ended)> AdvanceAsync(
        DbConnection connection, DbTransaction transaction, JobRecord finished, JobRecord? retry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        const string SelectStep = "SELECT bisect_id AS BisectId, position AS Position FROM bisect_steps WHERE job_id = @JobId";
        const string MoveStep = "UPDATE bisect_steps SET job_id = @RetryId WHERE job_id = @JobId";
        const string Finish = """
            UPDATE bisects SET state = 'finished', verdict = @Verdict, culprit_sha = @CulpritSha, culprit_author = @CulpritAuthor,
                culprit_subject = @CulpritSubject, summary = @Summary, finished_at = @Now
            WHERE id = @Id
            """;

        StepRow? step = await connection.QuerySingleOrDefaultAsync<StepRow>(new CommandDefinition(SelectStep, new { JobId = finished.Id }, transaction, cancellationToken: cancellationToken));
        if (step is null)
        {
            return (null, null);
        }

        if (retry is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(MoveStep, new { RetryId = retry.Id, JobId = finished.Id }, transaction, cancellationToken: cancellationToken));
            return (null, null);
        }

        BisectDetail detail = (await DetailAsync(connection, transaction, step.BisectId, cancellationToken))!;
        BisectRecord bisect = detail.Bisect;
        if (bisect.Finished)
        {
            return (null, null);
        }

        // The detail's steps, in job order, with a result once their job has finished.
        List<(int, JobResult)> steps = detail.Steps.Where(s => s.Result is not null).Select(s => (s.Position, s.Result!.Value)).ToList();
        BisectDecision decision = BisectSearch.Next(detail.Commits.Count - 1, bisect.CheckGood, bisect.Retries, bisect.MaxJobs, steps, p => BisectRecord.Abbreviate(detail.Commits[p].Sha));
        if (decision.RunPosition is { } position)
        {
            var nextJob = new NewJob(finished.CellKey, finished.Kind, finished.Release, finished.FromRelease, finished.Scenario, JobPriority.Bisect) { ReplayOf = bisect.BadJobId };
            JobRecord next = await RunStore.QueueJobAsync(connection, transaction, finished.RunId, nextJob, now, retryOf: null, cancellationToken);
            await AddStepAsync(connection, transaction, bisect.Id, next.Id, position, cancellationToken);
            return (next, null);
        }

        BisectCommit? culprit = decision.CulpritPosition is { } found ? detail.Commits[found] : null;
        await connection.ExecuteAsync(new CommandDefinition(
            Finish,
            new
            {
                bisect.Id,
                Verdict = DbValue.Text(decision.Verdict!.Value),
                CulpritSha = culprit?.Sha,
                CulpritAuthor = culprit?.Author,
                CulpritSubject = culprit?.Subject,
                decision.Summary,
                Now = DbValue.Time(now),
            },
            transaction,
            cancellationToken: cancellationToken));
        return (null, (await GetAsync(connection, transaction, bisect.Id, cancellationToken))!);
    }

    private static Task<int> AddStepAsync(DbConnection connection, DbTransaction transaction, long bisectId, long jobId, int position, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO bisect_steps (job_id, bisect_id, position) VALUES (@JobId, @BisectId, @Position)",
            new { JobId = jobId, BisectId = bisectId, Position = position },
            transaction,
            cancellationToken: cancellationToken));

    private static async Task<BisectRecord?> GetAsync(DbConnection connection, DbTransaction? transaction, long bisectId, CancellationToken cancellationToken)
    {
        const string Select = "SELECT " + Columns + " FROM bisects WHERE bisects.id = @Id";

        BisectRow? row = await connection.QuerySingleOrDefaultAsync<BisectRow>(new CommandDefinition(Select, new { Id = bisectId }, transaction, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    private static async Task<BisectDetail?> DetailAsync(DbConnection connection, DbTransaction? transaction, long bisectId, CancellationToken cancellationToken)
    {
        const string SelectCommits = "SELECT position AS Position, sha AS Sha, author AS Author, subject AS Subject FROM bisect_commits WHERE bisect_id = @Id ORDER BY position";
        const string SelectSteps = """
            SELECT bisect_steps.job_id AS JobId, bisect_steps.position AS Position, bisect_commits.sha AS Sha, jobs.result AS Result
            FROM bisect_steps
            JOIN jobs ON jobs.id = bisect_steps.job_id
            JOIN bisect_commits ON bisect_commits.bisect_id = bisect_steps.bisect_id AND bisect_commits.position = bisect_steps.position
            WHERE bisect_steps.bisect_id = @Id
            ORDER BY bisect_steps.job_id
            """;

        BisectRecord? bisect = await GetAsync(connection, transaction, bisectId, cancellationToken);
        if (bisect is null)
        {
            return null;
        }

        const string SelectUrl = "SELECT git_url FROM job_modules WHERE job_id = @JobId AND module = @Module ORDER BY phase LIMIT 1";

        var parameters = new { Id = bisectId };
        string? url = bisect.BadJobId is { } badJobId
            ? await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(SelectUrl, new { JobId = badJobId, Module = bisect.TargetModule }, transaction, cancellationToken: cancellationToken))
            : null;
        IEnumerable<CommitRow> commits = await connection.QueryAsync<CommitRow>(new CommandDefinition(SelectCommits, parameters, transaction, cancellationToken: cancellationToken));
        IEnumerable<StepResultRow> steps = await connection.QueryAsync<StepResultRow>(new CommandDefinition(SelectSteps, parameters, transaction, cancellationToken: cancellationToken));
        return new BisectDetail(
            bisect,
            commits.Select(c => new BisectCommit(checked((int)c.Position), c.Sha, c.Author, c.Subject)).ToList(),
            steps.Select(s => new BisectStepRecord(s.JobId, checked((int)s.Position), s.Sha, DbValue.ParseOptional<JobResult>(s.Result))).ToList())
        {
            TargetUrl = url,
        };
    }

    private sealed record RequestRow(long BadJobId, long GoodJobId);

    private sealed record StepRow(long BisectId, long Position);

    private sealed record CommitRow(long Position, string Sha, string Author, string Subject);

    private sealed record StepResultRow(long JobId, long Position, string Sha, string? Result);

    private sealed record PinRow(string Module, string BadSha, string Sha, long? BadJobId, string RunModule);

    private sealed record BisectRow(
        long Id,
        long RunId,
        string Module,
        string Branch,
        string CellKey,
        string TargetModule,
        string GoodSha,
        string BadSha,
        long? GoodJobId,
        long? BadJobId,
        long CheckGood,
        long MaxJobs,
        long Retries,
        string State,
        string? Verdict,
        string? CulpritSha,
        string? CulpritAuthor,
        string? CulpritSubject,
        string? Summary,
        string CreatedAt,
        string? FinishedAt)
    {
        public BisectRecord ToRecord() => new(
            Id, RunId, Module, Branch, CellKey, TargetModule, GoodSha, BadSha, GoodJobId, BadJobId, CheckGood != 0,
            checked((int)MaxJobs), checked((int)Retries), State == "finished", DbValue.ParseOptional<BisectVerdict>(Verdict),
            CulpritSha, CulpritAuthor, CulpritSubject, Summary, DbValue.ParseTime(CreatedAt), DbValue.ParseOptionalTime(FinishedAt));
    }
}
