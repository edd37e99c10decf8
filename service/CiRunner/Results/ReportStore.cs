using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>One run's report to one reporter.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Reporter">The reporter: <c>junit</c>, <c>gerrit</c> or <c>webhook:&lt;name&gt;</c>.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Attempts">Delivery attempts started so far.</param>
/// <param name="NextAttemptAt">When a pending report is tried next; null once it is settled.</param>
/// <param name="LastError">The last failed attempt's error, redacted.</param>
/// <param name="Detail">What was sent, or why it was held or skipped.</param>
/// <param name="CreatedAt">When the run was handed to the reporter.</param>
/// <param name="UpdatedAt">When the row last changed.</param>
public sealed record RunReportRecord(
    long RunId,
    string Reporter,
    ReportState State,
    int Attempts,
    DateTimeOffset? NextAttemptAt,
    string? LastError,
    string? Detail,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>
/// The reporters' transactional outbox: <see cref="RequestAsync"/> runs inside the transaction that finishes a run,
/// <see cref="PlanAsync"/> turns each request into one pending report per reporter, and the report dispatcher works
/// through the due ones. Everything is in the database, so a restart picks up exactly where the last process was.
/// </summary>
public sealed class ReportStore
{
    private const string Columns = """
        run_reports.run_id AS RunId, run_reports.reporter AS Reporter, run_reports.state AS State, run_reports.attempts AS Attempts,
        run_reports.next_attempt_at AS NextAttemptAt, run_reports.last_error AS LastError, run_reports.detail AS Detail,
        run_reports.created_at AS CreatedAt, run_reports.updated_at AS UpdatedAt
        """;

    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public ReportStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>Records, inside the caller's transaction, that a finished run still has to be reported.</summary>
    internal static Task RequestAsync(DbConnection connection, DbTransaction transaction, long runId, string now, CancellationToken cancellationToken)
    {
        const string InsertRequest = "INSERT INTO report_requests (run_id, requested_at) VALUES (@RunId, @Now) ON CONFLICT DO NOTHING";

        return connection.ExecuteAsync(new CommandDefinition(InsertRequest, new { RunId = runId, Now = now }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Turns waiting requests into pending reports, one per reporter <paramref name="reportersFor"/> names for the
    /// run, due now; all in one transaction. Returns the runs planned.
    /// </summary>
    public async Task<IReadOnlyList<long>> PlanAsync(Func<RunRecord, IReadOnlyList<string>> reportersFor, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reportersFor);

        const string SelectRequested = "SELECT " + RunRow.Columns + """
             FROM report_requests JOIN runs ON runs.id = report_requests.run_id
            ORDER BY report_requests.run_id LIMIT @Limit
            """;
        const string InsertReport = """
            INSERT INTO run_reports (run_id, reporter, state, attempts, next_attempt_at, created_at, updated_at)
            VALUES (@RunId, @Reporter, 'pending', 0, @Now, @Now, @Now)
            ON CONFLICT DO NOTHING
            """;
        const string DeleteRequest = "DELETE FROM report_requests WHERE run_id = @RunId";

        const string AnyRequest = "SELECT EXISTS (SELECT 1 FROM report_requests)";

        string now = DbValue.Time(DbValue.Now(_timeProvider));

        // Asked every second: a read first, so that an empty outbox never takes the write lock from running jobs.
        await using (DbConnection reader = await _database.OpenAsync(cancellationToken))
        {
            if (!await reader.ExecuteScalarAsync<bool>(new CommandDefinition(AnyRequest, cancellationToken: cancellationToken)))
            {
                return [];
            }
        }

        List<long> planned = await _database.WriteAsync(
            async (connection, transaction) =>
            {
                IEnumerable<RunRow> runs = await connection.QueryAsync<RunRow>(new CommandDefinition(SelectRequested, new { Limit = limit }, transaction, cancellationToken: cancellationToken));
                var planned = new List<long>();
                foreach (RunRecord run in runs.Select(r => r.ToRecord()).ToList())
                {
                    foreach (string reporter in reportersFor(run))
                    {
                        await connection.ExecuteAsync(new CommandDefinition(InsertReport, new { RunId = run.Id, Reporter = reporter, Now = now }, transaction, cancellationToken: cancellationToken));
                    }

                    await connection.ExecuteAsync(new CommandDefinition(DeleteRequest, new { RunId = run.Id }, transaction, cancellationToken: cancellationToken));
                    planned.Add(run.Id);
                }

                return planned;
            },
            cancellationToken);
        return planned;
    }

    /// <summary>One reporter's pending reports whose next attempt is due, oldest first.</summary>
    public async Task<IReadOnlyList<RunReportRecord>> ListDueAsync(string reporter, int limit, CancellationToken cancellationToken)
    {
        const string SelectDue = "SELECT " + Columns + """
             FROM run_reports WHERE state = 'pending' AND next_attempt_at <= @Now AND reporter = @Reporter
            ORDER BY next_attempt_at, run_id LIMIT @Limit
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<Row> rows = await connection.QueryAsync<Row>(new CommandDefinition(
            SelectDue, new { Now = DbValue.Time(DbValue.Now(_timeProvider)), Reporter = reporter, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>Pending reports of reporters not in <paramref name="reporters"/> (a reporter removed from the configuration).</summary>
    public async Task<IReadOnlyList<RunReportRecord>> ListPendingOfOthersAsync(IReadOnlyCollection<string> reporters, CancellationToken cancellationToken)
    {
        string selectPending = $"SELECT {Columns} FROM run_reports WHERE state = 'pending' AND reporter {_database.Dialect.NotInList("@Reporters")} ORDER BY run_id";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<Row> rows = await connection.QueryAsync<Row>(new CommandDefinition(selectPending, new { Reporters = reporters.ToArray() }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>A run's reports, by reporter name.</summary>
    public async Task<IReadOnlyList<RunReportRecord>> ListForRunAsync(long runId, CancellationToken cancellationToken)
    {
        const string SelectOfRun = "SELECT " + Columns + " FROM run_reports WHERE run_id = @RunId ORDER BY reporter";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<Row> rows = await connection.QueryAsync<Row>(new CommandDefinition(SelectOfRun, new { RunId = runId }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>
    /// Counts a delivery attempt before it starts, so that an attempt cut short by a crash is still known to have
    /// happened (the reporter then checks whether its first try got through). Returns the attempt number.
    /// </summary>
    public async Task<int> StartAttemptAsync(long runId, string reporter, CancellationToken cancellationToken)
    {
        const string CountAttempt = """
            UPDATE run_reports SET attempts = attempts + 1, updated_at = @Now
            WHERE run_id = @RunId AND reporter = @Reporter
            RETURNING attempts
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        long? attempts = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            CountAttempt, new { RunId = runId, Reporter = reporter, Now = DbValue.Time(DbValue.Now(_timeProvider)) }, cancellationToken: cancellationToken));
        return attempts is { } value ? checked((int)value) : throw new KeyNotFoundException($"Run {runId} has no report for {reporter}.");
    }

    /// <summary>Settles a report (sent, held, failed, skipped): it is not tried again.</summary>
    public Task SettleAsync(long runId, string reporter, ReportState state, string? detail, string? error, CancellationToken cancellationToken)
    {
        if (state == ReportState.Pending)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "A settled report is not pending; use RetryLaterAsync.");
        }

        return UpdateAsync(runId, reporter, state, nextAttemptAt: null, detail, error, cancellationToken);
    }

    /// <summary>Keeps a report pending after a failed attempt, with the error and the time of the next attempt.</summary>
    public Task RetryLaterAsync(long runId, string reporter, DateTimeOffset nextAttemptAt, string error, CancellationToken cancellationToken) =>
        UpdateAsync(runId, reporter, ReportState.Pending, nextAttemptAt, detail: null, error, cancellationToken);

    private async Task UpdateAsync(long runId, string reporter, ReportState state, DateTimeOffset? nextAttemptAt, string? detail, string? error, CancellationToken cancellationToken)
    {
        // A settled report keeps the last error of the attempts before it (a sent report that needed three tries
        // says why the first two failed); a retried one keeps the detail it had.
        const string Update = """
            UPDATE run_reports SET state = @State, next_attempt_at = @NextAttemptAt, updated_at = @Now,
                detail = COALESCE(@Detail, detail), last_error = COALESCE(@Error, last_error)
            WHERE run_id = @RunId AND reporter = @Reporter
            """;

        await _database.ExecuteWriteAsync(
            Update,
            new
            {
                RunId = runId,
                Reporter = reporter,
                State = DbValue.Text(state),
                NextAttemptAt = DbValue.Time(nextAttemptAt is { } next ? DbValue.Truncate(next) : null),
                Now = DbValue.Time(DbValue.Now(_timeProvider)),
                Detail = detail,
                Error = error,
            },
            cancellationToken);
    }

    private sealed class Row
    {
        public long RunId { get; set; }

        public string Reporter { get; set; } = "";

        public string State { get; set; } = "";

        public long Attempts { get; set; }

        public string? NextAttemptAt { get; set; }

        public string? LastError { get; set; }

        public string? Detail { get; set; }

        public string CreatedAt { get; set; } = "";

        public string UpdatedAt { get; set; } = "";

        public RunReportRecord ToRecord() => new(
            RunId,
            Reporter,
            DbValue.Parse<ReportState>(State),
            checked((int)Attempts),
            DbValue.ParseOptionalTime(NextAttemptAt),
            LastError,
            Detail,
            DbValue.ParseTime(CreatedAt),
            DbValue.ParseTime(UpdatedAt));
    }
}
