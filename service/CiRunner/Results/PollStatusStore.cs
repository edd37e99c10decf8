using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>How the last polls of a module went: when it was polled, when that last worked, and the last error.</summary>
/// <param name="Module">The module's short name.</param>
/// <param name="LastPollAt">When the last poll ended, successful or not.</param>
/// <param name="LastSuccessAt">When a poll last succeeded; null when none has.</param>
/// <param name="LastError">The last failure, redacted; kept after later successes so the status shows it.</param>
/// <param name="LastErrorAt">When <paramref name="LastError"/> happened.</param>
/// <param name="ConsecutiveFailures">Failed polls since the last success.</param>
/// <param name="TotalFailures">Failed polls since the module was first polled.</param>
public sealed record ModulePollStatus(
    string Module,
    DateTimeOffset LastPollAt,
    DateTimeOffset? LastSuccessAt,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    int ConsecutiveFailures,
    int TotalFailures);

/// <summary>
/// The <c>module_poll_status</c> table: one row per module, written after each poll that changed something or
/// failed. A poll that found nothing new (<see cref="RecordQuietSuccess"/>) only moves the times: they are kept in
/// memory, where this process's reads see them at once, and written for every such module in one transaction by
/// <see cref="FlushQuietPollsAsync"/> (every <see cref="QuietPollFlush.Interval"/> while the service runs, and at
/// its stop), so other processes reading the table see them that much later.
/// </summary>
public sealed class PollStatusStore
{
    private const string Columns = """
        module AS Module, last_poll_at AS LastPollAt, last_success_at AS LastSuccessAt, last_error AS LastError,
        last_error_at AS LastErrorAt, consecutive_failures AS ConsecutiveFailures, total_failures AS TotalFailures
        """;

    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    /// <summary>When each module last polled without finding anything, not yet written.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _quietPolls = new(StringComparer.Ordinal);

    public PollStatusStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// A successful poll that found nothing to store, of a module whose status already shows a success and no
    /// failure since: only its last poll and last success times move. Held in memory until the next
    /// <see cref="FlushQuietPollsAsync"/>, so the poll writes nothing; <see cref="GetAsync"/> and
    /// <see cref="ListAsync"/> include it meanwhile.
    /// </summary>
    public void RecordQuietSuccess(string module) => _quietPolls[module] = DbValue.Now(_timeProvider);

    /// <summary>Writes the quiet polls held in memory, all in one transaction; none held, no write.</summary>
    /// <returns>How many modules' times were written.</returns>
    public async Task<int> FlushQuietPollsAsync(CancellationToken cancellationToken)
    {
        // A time only moves forward: a failure or a change recorded after the quiet poll (here or by another
        // instance) stays as it is, and the failure count is cleared only by a success newer than the last error.
        const string QuietSuccess = """
            UPDATE module_poll_status SET
                last_poll_at = CASE WHEN last_poll_at < @At THEN @At ELSE last_poll_at END,
                last_success_at = CASE WHEN last_success_at IS NULL OR last_success_at < @At THEN @At ELSE last_success_at END,
                consecutive_failures = CASE WHEN last_error_at IS NULL OR last_error_at < @At THEN 0 ELSE consecutive_failures END
            WHERE module = @Module
            """;

        KeyValuePair<string, DateTimeOffset>[] pending = _quietPolls.ToArray();
        if (pending.Length == 0)
        {
            return 0;
        }

        await _database.WriteAsync(
            (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
                QuietSuccess,
                pending.Select(p => new { Module = p.Key, At = DbValue.Time(p.Value) }).ToArray(),
                transaction,
                cancellationToken: cancellationToken)),
            cancellationToken);

        // Removed only when unchanged: a module that polled again while this was written keeps its newer time.
        foreach (KeyValuePair<string, DateTimeOffset> written in pending)
        {
            _quietPolls.TryRemove(written);
        }

        return pending.Length;
    }

    public async Task RecordSuccessAsync(string module, CancellationToken cancellationToken)
    {
        const string Success = """
            INSERT INTO module_poll_status (module, last_poll_at, last_success_at, consecutive_failures, total_failures)
            VALUES (@Module, @Now, @Now, 0, 0)
            ON CONFLICT (module) DO UPDATE SET last_poll_at = excluded.last_poll_at, last_success_at = excluded.last_success_at,
                consecutive_failures = 0
            """;

        await ExecuteAsync(Success, new { Module = module, Now = DbValue.Time(DbValue.Now(_timeProvider)) }, cancellationToken);
    }

    /// <param name="module">The module.</param>
    /// <param name="error">What failed, already free of secrets.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task RecordFailureAsync(string module, string error, CancellationToken cancellationToken)
    {
        const string Failure = """
            INSERT INTO module_poll_status (module, last_poll_at, last_error, last_error_at, consecutive_failures, total_failures)
            VALUES (@Module, @Now, @Error, @Now, 1, 1)
            ON CONFLICT (module) DO UPDATE SET last_poll_at = excluded.last_poll_at, last_error = excluded.last_error,
                last_error_at = excluded.last_error_at, consecutive_failures = module_poll_status.consecutive_failures + 1,
                total_failures = module_poll_status.total_failures + 1
            """;

        await ExecuteAsync(Failure, new { Module = module, Error = error, Now = DbValue.Time(DbValue.Now(_timeProvider)) }, cancellationToken);
    }

    public async Task<ModulePollStatus?> GetAsync(string module, CancellationToken cancellationToken)
    {
        const string SelectOne = "SELECT " + Columns + " FROM module_poll_status WHERE module = @Module";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        Row? row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(SelectOne, new { Module = module }, cancellationToken: cancellationToken));
        return row is null ? null : WithQuietPoll(row.ToRecord());
    }

    public async Task<IReadOnlyList<ModulePollStatus>> ListAsync(CancellationToken cancellationToken)
    {
        const string SelectAll = "SELECT " + Columns + " FROM module_poll_status ORDER BY module";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<Row> rows = await connection.QueryAsync<Row>(new CommandDefinition(SelectAll, cancellationToken: cancellationToken));
        return rows.Select(r => WithQuietPoll(r.ToRecord())).ToList();
    }

    /// <summary>The stored status with a quiet poll not yet written, as <see cref="FlushQuietPollsAsync"/> will write it.</summary>
    private ModulePollStatus WithQuietPoll(ModulePollStatus stored)
    {
        if (!_quietPolls.TryGetValue(stored.Module, out DateTimeOffset at))
        {
            return stored;
        }

        return stored with
        {
            LastPollAt = at > stored.LastPollAt ? at : stored.LastPollAt,
            LastSuccessAt = stored.LastSuccessAt is { } success && success >= at ? success : at,
            ConsecutiveFailures = stored.LastErrorAt is { } error && error >= at ? stored.ConsecutiveFailures : 0,
        };
    }

    private async Task ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken, [System.Runtime.CompilerServices.CallerMemberName] string operation = "") =>
        await _database.ExecuteWriteAsync(sql, parameters, cancellationToken, operation);

    private sealed class Row
    {
        public string Module { get; set; } = "";

        public string LastPollAt { get; set; } = "";

        public string? LastSuccessAt { get; set; }

        public string? LastError { get; set; }

        public string? LastErrorAt { get; set; }

        public long ConsecutiveFailures { get; set; }

        public long TotalFailures { get; set; }

        public ModulePollStatus ToRecord() => new(
            Module,
            DbValue.ParseTime(LastPollAt),
            DbValue.ParseOptionalTime(LastSuccessAt),
            LastError,
            DbValue.ParseOptionalTime(LastErrorAt),
            (int)ConsecutiveFailures,
            (int)TotalFailures);
    }
}
