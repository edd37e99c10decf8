using System.Data.Common;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>
/// Opens connections to the results database (one SQLite file). The first open of an instance brings the
/// schema up to date; every connection has foreign keys on and waits for a busy writer instead of failing.
/// </summary>
public sealed class ResultsDatabase
{
    /// <summary>How long a writer waits for another connection's write transaction before failing.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a write waits out a lock another process holds, unless <c>Service:DatabaseLockTimeout</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    // PRAGMA takes no parameters, so the value is written out; it is BusyTimeout in milliseconds.
    // synchronous=NORMAL is safe with WAL against a process crash; a power loss may drop the last
    // transactions, which for test results is worth the fewer fsyncs.
    private const string ConnectionPragmas = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ResultsDatabase> _logger;
    private readonly string _connectionString;
    private readonly DatabaseLockRetry _lockRetry;
    private readonly Lock _schemaGate = new();
    private Task? _schemaReady;

    /// <param name="databaseFile">The SQLite file; created with its folder when missing.</param>
    /// <param name="timeProvider">Time for migrations' stamps and lock waits.</param>
    /// <param name="logger">Migrations and lock waits are logged here.</param>
    /// <param name="lockTimeout">How long a write waits out a lock held by another process; default <see cref="DefaultLockTimeout"/>.</param>
    public ResultsDatabase(string databaseFile, TimeProvider timeProvider, ILogger<ResultsDatabase>? logger = null, TimeSpan? lockTimeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseFile);
        ArgumentNullException.ThrowIfNull(timeProvider);
        DatabaseFile = Path.GetFullPath(databaseFile);
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<ResultsDatabase>.Instance;
        _connectionString = BuildConnectionString(DatabaseFile);
        _lockRetry = new DatabaseLockRetry(DatabaseFile, lockTimeout ?? DefaultLockTimeout, timeProvider, _logger);
    }

    public string DatabaseFile { get; }

    /// <summary>How long a write waits out a lock held by another process before it fails with <see cref="DatabaseLockedException"/>.</summary>
    public TimeSpan LockTimeout => _lockRetry.Timeout;

    /// <summary>Whether a write failed because the file system is full (SQLITE_FULL): worth trying again once space is freed.</summary>
    public static bool IsDiskFull(Exception exception) => exception is SqliteException { SqliteErrorCode: 13 };

    /// <summary>The newest schema version this build has a migration for.</summary>
    public static int CodeSchemaVersion => SchemaMigrations.LatestVersion;

    /// <summary>An open connection to an up-to-date database. The caller disposes it.</summary>
    /// <exception cref="DatabaseSchemaTooNewException">A newer CiRunner migrated the database.</exception>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        return await OpenWithoutMigratingAsync(cancellationToken);
    }

    /// <summary>
    /// The one way Results writes: opens a connection, begins a write transaction (<c>BEGIN IMMEDIATE</c>), runs
    /// <paramref name="write"/> in it and commits. While another process holds the database locked the begin is tried
    /// again with backoff, up to <see cref="LockTimeout"/>; nothing has been written when it fails, so the caller's
    /// whole unit of work simply did not happen. An exception from <paramref name="write"/> rolls everything back.
    /// </summary>
    /// <param name="write">The unit of work; it runs every statement on the connection and transaction it is given.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="operation">What is written, for the lock's log lines and <see cref="DatabaseLockedException.Operation"/>: the store method.</param>
    /// <exception cref="DatabaseLockedException">The database stayed locked for <see cref="LockTimeout"/>.</exception>
    public async Task<T> WriteAsync<T>(
        Func<SqliteConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        ArgumentNullException.ThrowIfNull(write);
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using DbTransaction transaction = await _lockRetry.ExecuteAsync(
            operation, async token => await connection.BeginTransactionAsync(token), cancellationToken);
        T result = await write(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Like <see cref="WriteAsync{T}"/> for a unit of work that returns nothing.</summary>
    /// <exception cref="DatabaseLockedException">The database stayed locked for <see cref="LockTimeout"/>.</exception>
    public Task WriteAsync(Func<SqliteConnection, DbTransaction, Task> write, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
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

    /// <summary>The schema version stored in the file; 0 when no migration has run.</summary>
    public async Task<int> ReadSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenWithoutMigratingAsync(cancellationToken);
        return await SchemaMigrations.ReadVersionAsync(connection, transaction: null, cancellationToken);
    }

    /// <summary>
    /// Writes the write-ahead log back into the database file (at stop, so the file alone holds everything). Best
    /// effort: a reader still holding the log, or a database this build could not open, only leaves the log in place,
    /// which SQLite replays at the next open.
    /// </summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        const string Checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)";
        if (!File.Exists(DatabaseFile))
        {
            return;
        }

        try
        {
            await using SqliteConnection connection = await OpenWithoutMigratingAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(Checkpoint, cancellationToken: cancellationToken));
        }
        catch (SqliteException e)
        {
            _logger.CheckpointFailed(DatabaseFile, e.Message);
        }
    }

    /// <summary>Migrates up to <paramref name="targetVersion"/> only; tests use it to build databases of earlier versions.</summary>
    internal async Task<int> MigrateAsync(int targetVersion, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenWithoutMigratingAsync(cancellationToken);

        // WAL lets the dashboard and the CLI read while a job writes. The mode is stored in the file, so
        // setting it once per process is enough; it cannot change inside the migration transaction.
        const string WriteAheadLog = "PRAGMA journal_mode = WAL";
        string journalMode = await connection.ExecuteScalarAsync<string>(new CommandDefinition(WriteAheadLog, cancellationToken: cancellationToken)) ?? "unknown";
        if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            _logger.NotWriteAheadLog(DatabaseFile, journalMode);
        }

        // The migration is one transaction: a lock held by another process at start is waited out like any write.
        return await _lockRetry.ExecuteAsync(
            "migrating the schema",
            token => SchemaMigrations.ApplyAsync(connection, DatabaseFile, targetVersion, _timeProvider, _logger, token),
            cancellationToken);
    }

    internal async Task<SqliteConnection> OpenWithoutMigratingAsync(CancellationToken cancellationToken)
    {
        string? directory = Path.GetDirectoryName(DatabaseFile);
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);

            // Pooled connections keep these, but a new physical connection starts without them.
            await connection.ExecuteAsync(new CommandDefinition(ConnectionPragmas, cancellationToken: cancellationToken));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The connection string for a file; tests use it to release pooled connections before deleting the file.</summary>
    internal static string BuildConnectionString(string databaseFile) =>
        new SqliteConnectionStringBuilder
        {
            DataSource = databaseFile,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,

            // The provider retries a busy statement for this long on its own; keep it in line with busy_timeout.
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
}
