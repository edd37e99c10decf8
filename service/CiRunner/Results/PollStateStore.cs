using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>The poller's memory: the head last seen on each module branch, kept across restarts.</summary>
public sealed class PollStateStore
{
    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public PollStateStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>The head last seen on a branch, or null when the branch was never seen.</summary>
    public async Task<BranchHeadRecord?> GetAsync(string module, string branch, CancellationToken cancellationToken)
    {
        const string SelectHead = "SELECT " + BranchHeadRow.Columns + " FROM branch_heads WHERE module = @Module AND branch = @Branch";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        BranchHeadRow? row = await connection.QuerySingleOrDefaultAsync<BranchHeadRow>(
            new CommandDefinition(SelectHead, new { Module = module, Branch = branch }, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    /// <summary>Every branch head of one module, or of all modules when <paramref name="module"/> is null, deleted ones included.</summary>
    public async Task<IReadOnlyList<BranchHeadRecord>> ListAsync(string? module, CancellationToken cancellationToken)
    {
        const string SelectAll = "SELECT " + BranchHeadRow.Columns + " FROM branch_heads ORDER BY module, branch";
        const string SelectOfModule = "SELECT " + BranchHeadRow.Columns + " FROM branch_heads WHERE module = @Module ORDER BY branch";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<BranchHeadRow> rows = await connection.QueryAsync<BranchHeadRow>(
            new CommandDefinition(module is null ? SelectAll : SelectOfModule, new { Module = module }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>
    /// Stores the head now seen on a branch (a head that starts no run); a branch that had been deleted and came back
    /// is live again. A changed head, or one seen again after a deletion, moves to the next generation.
    /// </summary>
    public async Task<BranchHeadRecord> UpsertAsync(string module, string branch, string commitSha, CancellationToken cancellationToken)
    {
        const string UpsertHead = """
            INSERT INTO branch_heads (module, branch, commit_sha, updated_at, deleted_at, generation)
            VALUES (@Module, @Branch, @CommitSha, @Now, NULL, 1)
            ON CONFLICT (module, branch) DO UPDATE SET
                commit_sha = excluded.commit_sha,
                updated_at = excluded.updated_at,
                deleted_at = NULL,
                generation = CASE
                    WHEN branch_heads.commit_sha = excluded.commit_sha AND branch_heads.deleted_at IS NULL THEN branch_heads.generation
                    ELSE branch_heads.generation + 1
                END
            RETURNING generation
            """;

        DateTimeOffset now = DbValue.Now(_timeProvider);
        long generation = await _database.WriteAsync(
            (connection, transaction) => connection.ExecuteScalarAsync<long>(new CommandDefinition(
                UpsertHead,
                new { Module = module, Branch = branch, CommitSha = commitSha, Now = DbValue.Time(now) },
                transaction,
                cancellationToken: cancellationToken)),
            cancellationToken);
        return new BranchHeadRecord(module, branch, commitSha, now, DeletedAt: null) { Generation = generation };
    }

    /// <summary>
    /// Stores, inside the caller's transaction, the head a run was started for at the generation the run claimed
    /// (<see cref="RunStore"/> stores a run and its head together).
    /// </summary>
    internal static Task UpsertAsync(DbConnection connection, DbTransaction transaction, string module, string branch, string commitSha, long generation, DateTimeOffset now, CancellationToken cancellationToken)
    {
        const string UpsertHead = """
            INSERT INTO branch_heads (module, branch, commit_sha, updated_at, deleted_at, generation)
            VALUES (@Module, @Branch, @CommitSha, @Now, NULL, @Generation)
            ON CONFLICT (module, branch) DO UPDATE SET
                commit_sha = excluded.commit_sha, updated_at = excluded.updated_at, deleted_at = NULL, generation = excluded.generation
            """;

        return connection.ExecuteAsync(new CommandDefinition(
            UpsertHead,
            new { Module = module, Branch = branch, CommitSha = commitSha, Now = DbValue.Time(now), Generation = generation },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Notes that a branch disappeared from the remote, keeping its last head. Returns false when the branch is
    /// unknown or was already marked deleted, so the caller reports a deletion once.
    /// </summary>
    public async Task<bool> MarkDeletedAsync(string module, string branch, CancellationToken cancellationToken)
    {
        const string MarkDeleted = """
            UPDATE branch_heads SET deleted_at = @Now
            WHERE module = @Module AND branch = @Branch AND deleted_at IS NULL
            """;

        int updated = await _database.ExecuteWriteAsync(
            MarkDeleted,
            new { Module = module, Branch = branch, Now = DbValue.Time(DbValue.Now(_timeProvider)) },
            cancellationToken);
        return updated > 0;
    }
}
