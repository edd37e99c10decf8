using System.Data.Common;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>
/// Opens connections to the results database (one SQLite file by default, or PostgreSQL: see <see cref="StoreDialect"/>).
/// The first open of an instance brings the schema up to date; writes go one at a time and wait for a busy writer
/// instead of failing.
/// </summary>
public sealed class ResultsDatabase
{
    /// <summary>How long a write waits out a lock another process holds, unless <c>Service:DatabaseLockTimeout</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ResultsDatabase> _logger;
    private readonly DatabaseLockRetry _lockRetry;
    private readonly Lock _schemaGate = new();
    private Task? _schemaReady;

    /// <summary>The database on a SQLite file; created with its folder when missing.</summary>
    public ResultsDatabase(string databaseFile, TimeProvider timeProvider, ILogger<ResultsDatabase>? logger = null, TimeSpan? lockTimeout = null)
        : this(new SqliteDialect(databaseFile), timeProvider, logger, lockTimeout)
    {
    }

    /// <param name="dialect">The database and what differs about it.</param>
    /// <param name="timeProvider">Time for migrations' stamps and lock waits.</param>
    /// <param name="logger">Migrations and lock waits are logged here.</param>
    /// <param name="lockTimeout">How long a write waits out a lock held by another process; default <see cref="DefaultLockTimeout"/>.</param>
    public ResultsDatabase(StoreDialect dialect, TimeProvider timeProvider, ILogger<ResultsDatabase>? logger = null, TimeSpan? lockTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Dialect = dialect;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<ResultsDatabase>.Instance;
        _lockRetry = new DatabaseLockRetry(dialect, lockTimeout ?? DefaultLockTimeout, timeProvider, _logger);
    }

    /// <summary>What differs about the database: SQLite or PostgreSQL.</summary>
    public StoreDialect Dialect { get; }

    /// <summary>Where the database is, for messages: the SQLite file, or <c>postgresql://host:port/name</c>.</summary>
    public string Location => Dialect.Location;

    /// <summary>How long a write waits out a lock held by another process before it fails with <see cref="DatabaseLockedException"/>.</summary>
    public TimeSpan LockTimeout => _lockRetry.Timeout;

    /// <summary>Whether a write failed because the database's disk is full: worth trying again once space is freed.</summary>
    public bool IsDiskFull(Exception exception) => Dialect.IsDiskFull(exception);

    /// <summary>Whether the database server did not answer (see <see cref="StoreDialect.IsUnavailable"/>).</summary>
    public bool IsUnavailable(Exception exception) => Dialect.IsUnavailable(exception);

    /// <summary>The newest schema version this build has a migration for.</summary>
    public static int CodeSchemaVersion => SchemaMigrations.LatestVersion;

    /// <summary>An open connection to an up-to-date database. The caller disposes it.</summary>
    /// <exception cref="DatabaseSchemaTooNewException">A newer CiRunner migrated the database.</exception>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        return await Dialect.OpenAsync(cancellationToken);
    }

    /// <summary>
    /// The one way Results writes: opens a connection, begins a write transaction holding the one writer's lock
    /// (<see cref="StoreDialect.BeginWriteAsync"/>), runs <paramref name="write"/> in it and commits. While another
    /// process holds the lock the begin is tried again with backoff, up to <see cref="LockTimeout"/>; nothing has been
    /// written when it fails, so the caller's whole unit of work simply did not happen. An exception from
    /// <paramref name="write"/> rolls everything back.
    /// </summary>
    /// <param name="write">The unit of work; it runs every statement on the connection and transaction it is given.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="operation">What is written, for the lock's log lines and <see cref="DatabaseLockedException.Operation"/>: the store method.</param>
    /// <exception cref="DatabaseLockedException">The database stayed locked for <see cref="LockTimeout"/>.</exception>
    public async Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        ArgumentNullException.ThrowIfNull(write);
        await using DbConnection connection = await OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _lockRetry.ExecuteAsync(
            operation, token => Dialect.BeginWriteAsync(connection, token), cancellationToken);
        T result = await write(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Like <see cref="WriteAsync{T}"/> for a unit of work that returns nothing.</summary>
    /// <exception cref="DatabaseLockedException">The database stayed locked for <see cref="LockTimeout"/>.</exception>
    public Task WriteAsync(Func<DbConnection, DbTransaction, Task> write, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        ArgumentNullException.ThrowIfNull(write);
        return WriteAsync(
            async (connection, transaction) =>
            {
                await write(connection, transaction);
                return true;
            },
            cancellationToken,
            operation);
    }

    /// <summary>One writing statement through <see cref="WriteAsync{T}"/>. Returns the number of rows it changed.</summary>
    /// <exception cref="DatabaseLockedException">The database stayed locked for <see cref="LockTimeout"/>.</exception>
    public Task<int> ExecuteWriteAsync(string sql, object? parameters, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        return WriteAsync(
            (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken)),
            cancellationToken,
            operation);
    }

    /// <summary>
    /// Applies pending migrations once per instance; call it at start so a database from a newer CiRunner
    /// stops the service before it does anything.
    /// </summary>
    /// <exception cref="DatabaseSchemaTooNewException">A newer CiRunner migrated the database.</exception>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        lock (_schemaGate)
        {
            // Callers share one migration; a failed one is tried again by the next caller, so a database that
            // was busy at start does not stay unusable, and a too-new one keeps saying why.
            if (_schemaReady is null || _schemaReady.IsFaulted || _schemaReady.IsCanceled)
            {
                _schemaReady = Task.Run(() => MigrateAsync(CodeSchemaVersion, CancellationToken.None), CancellationToken.None);
            }

            return _schemaReady.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The schema version stored in the database; 0 when no migration has run.</summary>
    public async Task<int> ReadSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using DbConnection connection = await Dialect.OpenAsync(cancellationToken);
        return await SchemaMigrations.ReadVersionAsync(Dialect, connection, transaction: null, cancellationToken);
    }

    /// <summary>At stop: whatever makes the database alone complete (SQLite writes its write-ahead log back). Best effort.</summary>
    public Task CheckpointAsync(CancellationToken cancellationToken) => Dialect.CheckpointAsync(_logger, cancellationToken);

    /// <summary>Migrates up to <paramref name="targetVersion"/> only; tests use it to build databases of earlier versions.</summary>
    internal async Task<int> MigrateAsync(int targetVersion, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await Dialect.OpenAsync(cancellationToken);
        await Dialect.PrepareAsync(connection, _logger, cancellationToken);

        // The migration is one transaction: a lock held by another process at start is waited out like any write.
        return await _lockRetry.ExecuteAsync(
            "migrating the schema",
            token => SchemaMigrations.ApplyAsync(Dialect, connection, targetVersion, _timeProvider, _logger, token),
            cancellationToken);
    }
}
