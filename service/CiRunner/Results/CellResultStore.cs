using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>The latest verdict of every matrix cell, kept by <see cref="JobStore"/> as jobs finish.</summary>
public sealed class CellResultStore
{
    private readonly ResultsDatabase _database;

    public CellResultStore(ResultsDatabase database)
    {
        _database = database;
    }

    /// <summary>The cells of one module branch, by cell key: the dashboard's grid.</summary>
    public async Task<IReadOnlyList<CellResultRecord>> ListAsync(string module, string branch, CancellationToken cancellationToken)
    {
        const string SelectOfBranch = "SELECT " + CellResultRow.Columns + """
             FROM cell_results WHERE module = @Module AND branch = @Branch
            ORDER BY cell_key
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<CellResultRow> rows = await connection.QueryAsync<CellResultRow>(
            new CommandDefinition(SelectOfBranch, new { Module = module, Branch = branch }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>Every cell of every module branch: the last-result-per-cell metric.</summary>
    public async Task<IReadOnlyList<CellResultRecord>> ListAllAsync(CancellationToken cancellationToken)
    {
        const string SelectAll = "SELECT " + CellResultRow.Columns + " FROM cell_results ORDER BY module, branch, cell_key";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<CellResultRow> rows = await connection.QueryAsync<CellResultRow>(
            new CommandDefinition(SelectAll, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>
    /// For every cell, how many resource properties the idempotency steps of its latest result changed (0 when none
    /// did): the <c>cirunner.idempotency.changes</c> metric. A property that changed in two phases counts twice.
    /// </summary>
    public async Task<IReadOnlyList<CellIdempotencyChanges>> ListIdempotencyChangesAsync(CancellationToken cancellationToken)
    {
        const string SelectChanges = """
            SELECT cell_results.module AS Module, cell_results.branch AS Branch, cell_results.cell_key AS CellKey, COUNT(idempotency_changes.id) AS Changes
            FROM cell_results LEFT JOIN idempotency_changes ON idempotency_changes.job_id = cell_results.job_id
            GROUP BY cell_results.module, cell_results.branch, cell_results.cell_key
            ORDER BY cell_results.module, cell_results.branch, cell_results.cell_key
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<ChangesRow> rows = await connection.QueryAsync<ChangesRow>(new CommandDefinition(SelectChanges, cancellationToken: cancellationToken));
        return rows.Select(r => new CellIdempotencyChanges(r.Module, r.Branch, r.CellKey, checked((int)r.Changes))).ToList();
    }

    // Properties rather than a positional record: on an empty table SQLite gives COUNT's column no type (the reader
    // says byte[]), and Dapper refuses a constructor whose types do not match even when no row comes.
    private sealed class ChangesRow
    {
        public string Module { get; set; } = "";

        public string Branch { get; set; } = "";

        public string CellKey { get; set; } = "";

        public long Changes { get; set; }
    }
}
