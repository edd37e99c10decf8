using System.Data.Common;
using Dapper;
using Npgsql;

namespace CiRunner.Results;

/// <summary>
/// The store on PostgreSQL, for several instances sharing one database. A write transaction first takes one
/// transaction-scoped advisory lock, so writes stay one at a time across every instance exactly as they are on one
/// SQLite file: no unit of work needs its own locking to be correct, and the queries stay the same for both.
/// </summary>
public sealed class PostgresDialect : StoreDialect
{
    /// <summary>How long a write waits for another instance's write before it counts as locked (then retried up to the lock timeout).</summary>
    public static readonly TimeSpan LockWait = TimeSpan.FromSeconds(5);

    // The advisory lock's key: "CiRunner" in ASCII, so it does not meet another application's keys in a shared database.
    private const long WriterLockKey = 0x4369_5275_6E6E_6572;

    // The instance lock's key, in the two-integer form so pg_locks shows it as classid/objid: "CiRu", 1.
    private const int StoreLockClass = 0x4369_5275;
    private const int StoreLockObject = 1;
    private const int InstanceLockClass = 0x4369_5276;

    // SQLSTATE codes (PostgreSQL's appendix A): lock_not_available after lock_timeout, deadlock_detected,
    // serialization_failure; disk_full; unique_violation.
    private const string LockNotAvailable = "55P03";
    private const string DeadlockDetected = "40P01";
    private const string SerializationFailure = "40001";
    private const string DiskFull = "53100";
    private const string UniqueViolation = "23505";

    private readonly NpgsqlDataSource _dataSource;

    /// <param name="connectionString">An Npgsql connection string (from the secret <c>Store:ConnectionString*</c> points at); it is never logged.</param>
    public PostgresDialect(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Location = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string Provider => "postgresql";

    public override string Location { get; }

    internal override string MigrationsFolder => "Postgres";

    internal override string PointElsewhere => "point Store:ConnectionStringVariable or Store:ConnectionStringFile at another database";

    internal override string LockHolders =>
        $"Another session holds CiRunner's write lock (pg_advisory_xact_lock({WriterLockKey})) in a long transaction: " +
        "another CiRunner instance stuck in a write, or a session an operator left open. Find it in pg_stat_activity and end it";

    internal override string VersionTableExistsSql =>
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'";

    internal override string TableExistsSql =>
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = lower(@Table)";

    internal override string InList(string parameter) => $"= ANY ({parameter})";

    internal override string NotInList(string parameter) => $"<> ALL ({parameter})";

    internal override string InSubquery(string subquery) => $"= ANY (ARRAY({subquery}))";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    internal override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // SET LOCAL and the xact lock both end with the transaction, so a pooled connection carries neither on.
        string takeLock = $"SET LOCAL lock_timeout = '{(int)LockWait.TotalMilliseconds}ms'; SELECT pg_advisory_xact_lock({WriterLockKey})";
        DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(takeLock, transaction: transaction, cancellationToken: cancellationToken));
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }

    // REPEATABLE READ: every query of the transaction reads the snapshot its first one saw.
    internal override async Task<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);

    // Session advisory locks on a connection held open for the instance's life: the server drops them with the
    // session, so a killed instance's locks go when its connection does. application_name says who holds them.
    // A serving instance holds the store lock shared (several instances share one database) and its own id's lock
    // exclusively (two processes with one id would end each other's jobs); `store copy` holds the store lock alone.
    internal override async Task<IAsyncDisposable> AcquireInstanceLockAsync(string? instanceId, string holder, CancellationToken cancellationToken)
    {
        NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT set_config('application_name', @Holder, false)", new { Holder = Truncate(holder) }, cancellationToken: cancellationToken));
            if (instanceId is null)
            {
                if (await TryLockAsync(connection, "pg_try_advisory_lock", StoreLockClass, StoreLockObject, cancellationToken))
                {
                    return new HeldInstanceLock(connection);
                }

                throw new StoreInUseException(
                    Location, await HolderAsync(connection, StoreLockClass, StoreLockObject, cancellationToken), "stop every cirunner serve on it first");
            }

            if (!await TryLockAsync(connection, "pg_try_advisory_lock_shared", StoreLockClass, StoreLockObject, cancellationToken))
            {
                throw new StoreInUseException(
                    Location, await HolderAsync(connection, StoreLockClass, StoreLockObject, cancellationToken), "start the service once it is done");
            }

            int idKey = await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT hashtext(@Id)", new { Id = instanceId }, cancellationToken: cancellationToken));
            if (await TryLockAsync(connection, "pg_try_advisory_lock", InstanceLockClass, idKey, cancellationToken))
            {
                return new HeldInstanceLock(connection);
            }

            throw new StoreInUseException(
                Location,
                await HolderAsync(connection, InstanceLockClass, idKey, cancellationToken),
                $"instance id '{instanceId}' is already serving it: give each instance its own Service:InstanceId, or stop that one");
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static Task<bool> TryLockAsync(NpgsqlConnection connection, string function, int lockClass, int lockObject, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition($"SELECT {function}(@Class, @Object)", new { Class = lockClass, Object = lockObject }, cancellationToken: cancellationToken));

    // pg_locks shows a two-key advisory lock's keys as unsigned oids.
    private static async Task<string> HolderAsync(NpgsqlConnection connection, int lockClass, int lockObject, CancellationToken cancellationToken)
    {
        const string SelectHolder = """
            SELECT a.application_name FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint = @Class AND l.objid::bigint = @Object
            ORDER BY l.mode DESC LIMIT 1
            """;
        string? other = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            SelectHolder, new { Class = (long)(uint)lockClass, Object = (long)(uint)lockObject }, cancellationToken: cancellationToken));
        return string.IsNullOrEmpty(other) ? "a session that did not say who it is" : other;
    }

    // An identity column's sequence does not see explicit ids: without this the first new run would collide with run 1.
    internal override async Task AfterCopyAsync(DbConnection connection, DbTransaction transaction, IEnumerable<string> identityTables, CancellationToken cancellationToken)
    {
        foreach (string table in identityTables)
        {
            string reset = $"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)";
            await connection.ExecuteAsync(new CommandDefinition(reset, transaction: transaction, cancellationToken: cancellationToken));
        }
    }

    // Released by hand: a pooled connection's reset runs only when it is next used, so without the unlock the pool
    // would keep the lock after the instance let it go.
    private sealed class HeldInstanceLock(NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock_all()");
            }
            catch (NpgsqlException)
            {
                // The session is gone, and the lock with it.
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }

    // application_name keeps 63 bytes.
    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60];

    public override bool IsLocked(Exception exception) =>
        exception is PostgresException { SqlState: LockNotAvailable or DeadlockDetected or SerializationFailure };

    public override bool IsDiskFull(Exception exception) => exception is PostgresException { SqlState: DiskFull };

    // The jobs_queued trigger (Postgres/0013) notifies cirunner_queue at the commit of every insert into jobs.
    internal override async Task ListenForQueuedJobsAsync(Action onQueued, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onQueued);
        while (true)
        {
            try
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                connection.Notification += (_, _) => onQueued();
                await connection.ExecuteAsync(new CommandDefinition("LISTEN cirunner_queue", cancellationToken: cancellationToken));
                onQueued();
                while (true)
                {
                    await connection.WaitAsync(cancellationToken);
                }
            }
            catch (Exception e) when (e is NpgsqlException or System.IO.IOException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                // The server went away: the instance reads the queue on its timer meanwhile, and listens again once it is back.
                await Task.Delay(DatabaseLockRetry.UnavailablePause, cancellationToken);
            }
        }
    }

    // Npgsql marks connection failures and the server's shutdown and "cannot connect now" codes as transient.
    public override bool IsUnavailable(Exception exception) => exception is NpgsqlException { IsTransient: true };

    public override bool IsDuplicateKey(Exception exception) => exception is PostgresException { SqlState: UniqueViolation };

    public override bool IsDatabaseError(Exception exception) => exception is NpgsqlException;

    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
