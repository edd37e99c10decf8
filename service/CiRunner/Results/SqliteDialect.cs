using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CiRunner.Results;

/// <summary>
/// The default store: one SQLite file in the data directory, for one instance. Every connection has foreign keys on
/// and waits for a busy writer; a write transaction is <c>BEGIN IMMEDIATE</c>, which takes the file's one write lock.
/// </summary>
public sealed class SqliteDialect : StoreDialect
{
    /// <summary>How long a writer waits for another connection's write transaction before failing.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(5);

    // PRAGMA takes no parameters, so the value is written out; it is BusyTimeout in milliseconds.
    // synchronous=NORMAL is safe with WAL against a process crash; a power loss may drop the last
    // transactions, which for test results is worth the fewer fsyncs.
    private const string ConnectionPragmas = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

    // SQLITE_BUSY: another connection (here: another process) holds the lock. SQLITE_LOCKED: a conflict inside a
    // shared cache, which a retry also waits out. SQLITE_FULL: the file system is full. SQLITE_CONSTRAINT with its
    // extended codes for a primary key and a unique index.
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteFull = 13;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;

    private readonly string _connectionString;

    /// <param name="databaseFile">The SQLite file; created with its folder when missing.</param>
    public SqliteDialect(string databaseFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseFile);
        DatabaseFile = Path.GetFullPath(databaseFile);
        _connectionString = BuildConnectionString(DatabaseFile);
    }

    public string DatabaseFile { get; }

    public override string Provider => "sqlite";

    public override string Location => DatabaseFile;

    internal override string MigrationsFolder => "Sqlite";

    internal override string PointElsewhere => "point Service:DataDirectory elsewhere";

    internal override string LockHolders =>
        "Another program holds a write transaction or an exclusive lock on the file: an open sqlite3 shell, a backup or copy tool, " +
        "or a second CiRunner on the same data directory. End that transaction or close the program";

    internal override string VersionTableExistsSql => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";

    internal override string TableExistsSql => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @Table COLLATE NOCASE";

    internal override string InList(string parameter) => $"IN {parameter}";

    internal override string NotInList(string parameter) => $"NOT IN {parameter}";

    internal override string InSubquery(string subquery) => $"IN ({subquery})";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
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

    // BEGIN IMMEDIATE is the provider's default: the write lock is taken at the begin, not at the first write, so a
    // unit of work that reads first cannot be overtaken between its read and its write.
    internal override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken);

    // A deferred transaction takes no lock until it writes; in WAL mode its first read fixes its snapshot.
    internal override Task<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: true));

    public override bool IsLocked(Exception exception) =>
        exception is SqliteException e && (e.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked;

    public override bool IsDiskFull(Exception exception) => exception is SqliteException { SqliteErrorCode: SqliteFull };

    public override bool IsDuplicateKey(Exception exception) =>
        exception is SqliteException { SqliteExtendedErrorCode: SqliteConstraintPrimaryKey or SqliteConstraintUnique };

    public override bool IsDatabaseError(Exception exception) => exception is SqliteException;

    // An flock on a file beside the database (.NET takes it for FileShare.None), so the kernel drops it with the process;
    // who holds it is written to a second file, since a locked file cannot be read by the instance it refuses.
    internal override Task<IAsyncDisposable> AcquireInstanceLockAsync(string? instanceId, string holder, CancellationToken cancellationToken)
    {
        string lockFile = DatabaseFile + ".lock";
        string holderFile = DatabaseFile + ".instance";
        Directory.CreateDirectory(Path.GetDirectoryName(DatabaseFile)!);
        FileStream held;
        try
        {
            held = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string other = File.Exists(holderFile) ? File.ReadAllText(holderFile).Trim() : "an instance that did not say who it is";
            throw new StoreInUseException(DatabaseFile, other, "SQLite serves one instance: stop that one, or give this one its own Service:DataDirectory");
        }

        File.WriteAllText(holderFile, holder);
        return Task.FromResult<IAsyncDisposable>(held);
    }

    internal override async Task PrepareAsync(DbConnection connection, ILogger logger, CancellationToken cancellationToken)
    {
        // WAL lets the dashboard and the CLI read while a job writes. The mode is stored in the file, so
        // setting it once per process is enough; it cannot change inside the migration transaction.
        const string WriteAheadLog = "PRAGMA journal_mode = WAL";
        string journalMode = await connection.ExecuteScalarAsync<string>(new CommandDefinition(WriteAheadLog, cancellationToken: cancellationToken)) ?? "unknown";
        if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            logger.NotWriteAheadLog(DatabaseFile, journalMode);
        }
    }

    /// <summary>
    /// Writes the write-ahead log back into the database file (at stop, so the file alone holds everything). Best
    /// effort: a reader still holding the log, or a database this build could not open, only leaves the log in place,
    /// which SQLite replays at the next open.
    /// </summary>
    internal override async Task CheckpointAsync(ILogger logger, CancellationToken cancellationToken)
    {
        const string Checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)";
        if (!File.Exists(DatabaseFile))
        {
            return;
        }

        try
        {
            await using DbConnection connection = await OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(Checkpoint, cancellationToken: cancellationToken));
        }
        catch (SqliteException e)
        {
            logger.CheckpointFailed(DatabaseFile, e.Message);
        }
    }

    /// <summary>
    /// Gives freed pages back to the file system. The first time it switches the database to incremental
    /// auto-vacuum, which only takes effect through one full VACUUM; after that an incremental vacuum is enough.
    /// </summary>
    internal override async Task CompactAsync(CancellationToken cancellationToken)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken);
        long mode = await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA auto_vacuum", cancellationToken: cancellationToken));
        const long Incremental = 2;
        if (mode != Incremental)
        {
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA auto_vacuum = INCREMENTAL", cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition("VACUUM", cancellationToken: cancellationToken));
        }
        else
        {
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA incremental_vacuum", cancellationToken: cancellationToken));
        }

        // In WAL mode the file shrinks only once the log is written back.
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken: cancellationToken));
    }

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open (and a test's folder undeletable) until the pool lets go.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        return base.DisposeAsync();
    }

    /// <summary>The connection string for a file; tests use it to open the file without the store.</summary>
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
