using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>One of an instance's Docker engines (its pool, <c>Docker:Engines</c>), as its check-ins record it.</summary>
/// <param name="Endpoint">The engine's endpoint.</param>
/// <param name="Capacity">How many jobs it runs at once.</param>
public sealed record InstanceEngine(string Endpoint, int Capacity)
{
    /// <summary>Its name in the pool (<c>default</c> for the single engine of <c>Docker:Endpoint</c>).</summary>
    public string Name { get; init; } = "default";

    /// <summary>Jobs of the instance running on it at the check-in.</summary>
    public int Running { get; init; }

    /// <summary>Whether it answered at its last look.</summary>
    public bool Up { get; init; } = true;

    /// <summary>Its last error (an outage's, or a job's that lost it), kept after it answers again; null if none since the instance started.</summary>
    public string? LastError { get; init; }

    /// <summary>When <see cref="LastError"/> happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Errors since the instance started: outages begun and jobs that lost it.</summary>
    public long Errors { get; init; }
}

/// <summary>The engines as the instance sees them now, for each check-in (Execution's engine pool provides them).</summary>
public interface IEngineReport
{
    IReadOnlyList<InstanceEngine> Now();
}

/// <summary>One serving instance of the store, as its check-ins left it.</summary>
/// <param name="Id">Its <c>Service:InstanceId</c>.</param>
/// <param name="Host">The machine it runs on.</param>
/// <param name="Pid">Its process id there.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="LastCheckInAt">Its newest check-in; a live instance checks in every <see cref="InstanceCheckIn.Interval"/>.</param>
/// <param name="StoppedAt">When it stopped cleanly; null while it runs (or after it died without stopping).</param>
/// <param name="RunningJobs">Jobs it started that are still running.</param>
public sealed record InstanceRecord(
    string Id, string Host, long Pid, DateTimeOffset StartedAt, DateTimeOffset LastCheckInAt, DateTimeOffset? StoppedAt, int RunningJobs)
{
    /// <summary>An instance that checks in.</summary>
    public const string Serving = "serving";

    /// <summary>An instance that stopped cleanly.</summary>
    public const string Stopped = "stopped";

    /// <summary>An instance that missed three check-ins without stopping (killed, or its machine gone): its running jobs' lease is over.</summary>
    public const string Silent = "silent";

    /// <summary>After how long without a check-in an instance counts as <see cref="Silent"/>.</summary>
    public static readonly TimeSpan SilentAfter = 3 * InstanceCheckIn.Interval;

    /// <summary>Its Docker engine (<c>Docker:Endpoint</c>); null for an instance from before engines were recorded.</summary>
    public string? Engine { get; init; }

    /// <summary>How many jobs it runs at once (<c>Docker:ParallelJobs</c>).</summary>
    public int? Capacity { get; init; }

    /// <summary>Whether its engine answered at its last check-in.</summary>
    public bool? EngineUp { get; init; }

    /// <summary>Its engine's last error (see <see cref="InstanceEngine.LastError"/>).</summary>
    public string? EngineError { get; init; }

    /// <summary>When <see cref="EngineError"/> happened.</summary>
    public DateTimeOffset? EngineErrorAt { get; init; }

    /// <summary>Its engine's errors since the instance started.</summary>
    public long? EngineErrors { get; init; }

    /// <summary>Each engine of its pool as its last check-in saw it, in pool order; empty for an instance from before pools were recorded.</summary>
    public IReadOnlyList<InstanceEngine> Engines { get; init; } = [];

    /// <summary><see cref="Serving"/>, <see cref="Stopped"/> or <see cref="Silent"/>.</summary>
    public string StateAt(DateTimeOffset now) =>
        StoppedAt is not null ? Stopped : now - LastCheckInAt > SilentAfter ? Silent : Serving;
}

/// <summary>The instances that served this store: their check-ins, and the jobs each runs.</summary>
public sealed class InstanceStore
{
    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public InstanceStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>Like <see cref="CheckInAsync(string, string, long, DateTimeOffset, IReadOnlyList{InstanceEngine}?, CancellationToken)"/> without an engine.</summary>
    public Task CheckInAsync(string id, string host, long pid, DateTimeOffset startedAt, CancellationToken cancellationToken) =>
        CheckInAsync(id, host, pid, startedAt, engines: null, cancellationToken);

    /// <summary>
    /// Records that the instance lives (now); its first check-in of a start also sets where it runs and since when.
    /// <paramref name="engines"/> is its pool now: one <c>instance_engines</c> row per engine, in pool order, written in
    /// the same transaction as the instance row (an engine no longer in the pool loses its row; null or empty leaves
    /// none). The instance row keeps the aggregate: the first engine's endpoint and the pool's total capacity.
    /// </summary>
    public Task CheckInAsync(string id, string host, long pid, DateTimeOffset startedAt, IReadOnlyList<InstanceEngine>? engines, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        InstanceEngine? engine = engines is { Count: > 0 } ? engines[0] with
        {
            Capacity = engines.Sum(e => e.Capacity),
            Up = engines.All(e => e.Up),
            Errors = engines.Sum(e => e.Errors),
        } : null;
        const string Upsert = """
            INSERT INTO instances (id, host, pid, started_at, last_checkin_at, stopped_at, engine, capacity, engine_up, engine_error, engine_error_at, engine_errors)
            VALUES (@Id, @Host, @Pid, @StartedAt, @Now, NULL, @Engine, @Capacity, @EngineUp, @EngineError, @EngineErrorAt, @EngineErrors)
            ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
                last_checkin_at = excluded.last_checkin_at, stopped_at = NULL, engine = excluded.engine, capacity = excluded.capacity,
                engine_up = excluded.engine_up, engine_error = excluded.engine_error, engine_error_at = excluded.engine_error_at,
                engine_errors = excluded.engine_errors
            """;
        const string UpsertEngine = """
            INSERT INTO instance_engines (instance_id, name, ordinal, endpoint, capacity, running, up, last_error, last_error_at, errors)
            VALUES (@InstanceId, @Name, @Ordinal, @Endpoint, @Capacity, @Running, @Up, @LastError, @LastErrorAt, @Errors)
            ON CONFLICT (instance_id, name) DO UPDATE SET ordinal = excluded.ordinal, endpoint = excluded.endpoint,
                capacity = excluded.capacity, running = excluded.running, up = excluded.up, last_error = excluded.last_error,
                last_error_at = excluded.last_error_at, errors = excluded.errors
            """;
        string deleteGone = $"DELETE FROM instance_engines WHERE instance_id = @Id AND name {_database.Dialect.NotInList("@Names")}";

        var instance = new
        {
            Id = id,
            Host = host,
            Pid = pid,
            StartedAt = DbValue.Time(DbValue.Truncate(startedAt)),
            Now = DbValue.Time(DbValue.Now(_timeProvider)),
            Engine = engine?.Endpoint,
            Capacity = engine?.Capacity,
            EngineUp = engine is null ? (int?)null : engine.Up ? 1 : 0,
            EngineError = engine?.LastError,
            EngineErrorAt = DbValue.Time(engine?.LastErrorAt is { } at ? DbValue.Truncate(at) : null),
            EngineErrors = engine?.Errors,
        };
        IReadOnlyList<InstanceEngine> pool = engines ?? [];
        var engineRows = pool.Select((e, ordinal) => new
        {
            InstanceId = id,
            e.Name,
            Ordinal = ordinal,
            e.Endpoint,
            e.Capacity,
            e.Running,
            Up = e.Up ? 1 : 0,
            e.LastError,
            LastErrorAt = DbValue.Time(e.LastErrorAt is { } at ? DbValue.Truncate(at) : null),
            e.Errors,
        }).ToList();

        return _database.WriteAsync(
            async (connection, transaction) =>
            {
                await connection.ExecuteAsync(new CommandDefinition(Upsert, instance, transaction, cancellationToken: cancellationToken));

                // An engine removed from Docker:Engines (or renamed there) loses its row; the others are updated in place.
                await connection.ExecuteAsync(new CommandDefinition(
                    deleteGone, new { Id = id, Names = pool.Select(e => e.Name).ToArray() }, transaction, cancellationToken: cancellationToken));
                if (engineRows.Count > 0)
                {
                    // Dapper runs the statement once per row.
                    await connection.ExecuteAsync(new CommandDefinition(UpsertEngine, engineRows, transaction, cancellationToken: cancellationToken));
                }
            },
            cancellationToken);
    }

    /// <summary>Records a clean stop.</summary>
    public Task MarkStoppedAsync(string id, CancellationToken cancellationToken)
    {
        const string Stop = "UPDATE instances SET stopped_at = @Now, last_checkin_at = @Now WHERE id = @Id";
        return _database.ExecuteWriteAsync(Stop, new { Id = id, Now = DbValue.Time(DbValue.Now(_timeProvider)) }, cancellationToken);
    }

    /// <summary>Every instance that served this store, the latest check-in first, with the jobs each is running and its pool's engines in pool order.</summary>
    public async Task<IReadOnlyList<InstanceRecord>> ListAsync(CancellationToken cancellationToken)
    {
        const string Select = """
            SELECT instances.id AS Id, instances.host AS Host, instances.pid AS Pid, instances.started_at AS StartedAt,
                   instances.last_checkin_at AS LastCheckInAt, instances.stopped_at AS StoppedAt,
                   instances.engine AS Engine, instances.capacity AS Capacity, instances.engine_up AS EngineUp,
                   instances.engine_error AS EngineError, instances.engine_error_at AS EngineErrorAt, instances.engine_errors AS EngineErrors,
                   (SELECT COUNT(*) FROM jobs WHERE jobs.instance_id = instances.id AND jobs.state = 'running') AS RunningJobs
            FROM instances
            ORDER BY instances.last_checkin_at DESC, instances.id
            """;
        const string SelectEngines = """
            SELECT instance_engines.instance_id AS InstanceId, instance_engines.name AS Name, instance_engines.endpoint AS Endpoint,
                   instance_engines.capacity AS Capacity, instance_engines.running AS Running, instance_engines.up AS Up,
                   instance_engines.last_error AS LastError, instance_engines.last_error_at AS LastErrorAt, instance_engines.errors AS Errors
            FROM instance_engines
            ORDER BY instance_engines.instance_id, instance_engines.ordinal
            """;
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);

        // A read transaction: an instance and its engines come from the same check-in.
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
        IEnumerable<Row> rows = await connection.QueryAsync<Row>(new CommandDefinition(Select, transaction: transaction, cancellationToken: cancellationToken));
        IEnumerable<EngineRow> engineRows = await connection.QueryAsync<EngineRow>(new CommandDefinition(SelectEngines, transaction: transaction, cancellationToken: cancellationToken));
        ILookup<string, InstanceEngine> engines = engineRows.ToLookup(e => e.InstanceId, e => e.ToRecord(), StringComparer.Ordinal);
        return rows.Select(r => r.ToRecord() with { Engines = [.. engines[r.Id]] }).ToList();
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";

        public string Host { get; set; } = "";

        public long Pid { get; set; }

        public string StartedAt { get; set; } = "";

        public string LastCheckInAt { get; set; } = "";

        public string? StoppedAt { get; set; }

        public long RunningJobs { get; set; }

        public string? Engine { get; set; }

        public long? Capacity { get; set; }

        public long? EngineUp { get; set; }

        public string? EngineError { get; set; }

        public string? EngineErrorAt { get; set; }

        public long? EngineErrors { get; set; }

        public InstanceRecord ToRecord() => new(
            Id, Host, Pid, DbValue.ParseTime(StartedAt), DbValue.ParseTime(LastCheckInAt), DbValue.ParseOptionalTime(StoppedAt), checked((int)RunningJobs))
        {
            Engine = Engine,
            Capacity = Capacity is { } capacity ? checked((int)capacity) : null,
            EngineUp = EngineUp is { } up ? up != 0 : null,
            EngineError = EngineError,
            EngineErrorAt = DbValue.ParseOptionalTime(EngineErrorAt),
            EngineErrors = EngineErrors,
        };
    }

    private sealed class EngineRow
    {
        public string InstanceId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Endpoint { get; set; } = "";

        public long Capacity { get; set; }

        public long Running { get; set; }

        public long Up { get; set; }

        public string? LastError { get; set; }

        public string? LastErrorAt { get; set; }

        public long Errors { get; set; }

        public InstanceEngine ToRecord() => new(Endpoint, checked((int)Capacity))
        {
            Name = Name,
            Running = checked((int)Running),
            Up = Up != 0,
            LastError = LastError,
            LastErrorAt = DbValue.ParseOptionalTime(LastErrorAt),
            Errors = Errors,
        };
    }
}
