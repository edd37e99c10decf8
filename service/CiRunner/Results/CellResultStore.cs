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
}
