using System.Data.Common;

namespace CiRunner.Results;

/// <summary>
/// What differs between the databases the results store runs on, and nothing else: how a connection opens, how a
/// write transaction takes the one writer's lock, which errors mean "locked", "disk full" or "duplicate key", where
/// the migration scripts are. The store's queries are one set for both (plain SQL both databases speak, the way
/// Quartz keeps one delegate per database beside one set of queries): <see cref="SqliteDialect"/> (the default, one
/// file) and <see cref="PostgresDialect"/> (several instances on one database).
/// </summary>
public abstract class StoreDialect : IAsyncDisposable
{
    /// <summary>The <c>Store:Provider</c> value: <c>sqlite</c> or <c>postgresql</c>.</summary>
    public abstract string Provider { get; }

    /// <summary>Where the database is, for logs and error texts: the file, or host, port and database name (never a password).</summary>
    public abstract string Location { get; }

    /// <summary>How to point this build at another database, for "written by a newer CiRunner".</summary>
    internal abstract string PointElsewhere { get; }

    /// <summary>Who may hold the write lock for long, and what to do, for "locked by another process".</summary>
    internal abstract string LockHolders { get; }

    /// <summary>The folder under <c>Results/Migrations</c> that holds this database's scripts.</summary>
    internal abstract string MigrationsFolder { get; }

    /// <summary>The query that counts tables named <c>schema_version</c> (0 or 1).</summary>
    internal abstract string VersionTableExistsSql { get; }

    /// <summary>The query that counts tables named <c>@Table</c> (0 or 1), whatever the case the database keeps it in.</summary>
    internal abstract string TableExistsSql { get; }

    /// <summary>
    /// "Is one of the list <paramref name="parameter"/> holds", after a column: Dapper writes a list out as one parameter
    /// per item on SQLite (<c>IN @Ids</c>) but passes it as one array to PostgreSQL (<c>= ANY (@Ids)</c>).
    /// </summary>
    internal abstract string InList(string parameter);

    /// <summary>The negation of <see cref="InList"/>.</summary>
    internal abstract string NotInList(string parameter);

    /// <summary>
    /// "Is one of the rows <paramref name="subquery"/> returns", after a column, for a correlated subquery with a LIMIT (the
    /// newest N of each group): SQLite runs <c>IN (subquery)</c> once per outer row and looks the ids up; PostgreSQL does
    /// the same only for <c>= ANY (ARRAY(subquery))</c>, and would run an <c>IN</c> again for every candidate row.
    /// </summary>
    internal abstract string InSubquery(string subquery);

    /// <summary>An open connection, set up for the store (SQLite's pragmas, say). The caller disposes it.</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Begins a write transaction holding the one writer's lock: writes never interleave, on one instance or on
    /// several, so every unit of work that reads and then writes sees what it read until it commits.
    /// </summary>
    internal abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Begins a read-only transaction in which every query sees the same snapshot, without taking the writer's lock.</summary>
    internal abstract Task<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="exception"/> says another connection holds the lock (worth waiting out).</summary>
    public abstract bool IsLocked(Exception exception);

    /// <summary>Whether <paramref name="exception"/> says the database's disk is full (worth trying again once space is freed).</summary>
    public abstract bool IsDiskFull(Exception exception);

    /// <summary>
    /// Calls <paramref name="onQueued"/> whenever another connection queued a job, until cancelled, and once when it
    /// starts listening (jobs queued before that were not announced). Reconnects after the server went away. Returns at
    /// once where nothing announces jobs (SQLite: one instance queues its own).
    /// </summary>
    internal virtual Task ListenForQueuedJobsAsync(Action onQueued, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether the database server did not answer (down, restarting, unreachable): worth trying again later. Never for a local file.</summary>
    public virtual bool IsUnavailable(Exception exception) => false;

    /// <summary>Whether <paramref name="exception"/> says a unique key already holds the value written.</summary>
    public abstract bool IsDuplicateKey(Exception exception);

    /// <summary>Whether <paramref name="exception"/> comes from this database's client library at all (for the CLI's one-line errors).</summary>
    public abstract bool IsDatabaseError(Exception exception);

    /// <summary>
    /// Takes the store's instance lock, held until the result is disposed. For a serving instance
    /// (<paramref name="instanceId"/> set): SQLite refuses any second instance, PostgreSQL a second one with the same id
    /// (and any while <c>store copy</c> runs). Without an id (<c>store copy</c>) the lock is the store's alone. The lock
    /// goes with the process (a killed instance leaves none behind); <paramref name="holder"/> says who holds it, for
    /// the refusal's message.
    /// </summary>
    /// <exception cref="StoreInUseException">Another instance holds it.</exception>
    internal abstract Task<IAsyncDisposable> AcquireInstanceLockAsync(string? instanceId, string holder, CancellationToken cancellationToken);

    /// <summary>After rows were copied in with their ids: moves the id generators of <paramref name="identityTables"/> past them. Nothing by default (SQLite's AUTOINCREMENT follows explicit ids).</summary>
    internal virtual Task AfterCopyAsync(DbConnection connection, DbTransaction transaction, IEnumerable<string> identityTables, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>Work before the schema migrates (SQLite's journal mode); nothing by default.</summary>
    internal virtual Task PrepareAsync(DbConnection connection, ILogger logger, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Work at stop so the database alone is complete (SQLite writes its write-ahead log back); nothing by default.</summary>
    internal virtual Task CheckpointAsync(ILogger logger, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Gives the space of deleted rows back after retention pruned them; nothing by default (PostgreSQL's autovacuum does it).</summary>
    internal virtual Task CompactAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Releases pooled connections.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
