using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>How many rows of each table <see cref="StoreCopy"/> copied, in copy order.</summary>
public sealed record StoreCopyResult(IReadOnlyList<(string Table, long Rows)> Tables)
{
    public long RowsOf(string table) => Tables.FirstOrDefault(t => t.Table == table).Rows;
}

/// <summary>
/// Copies a whole results history from one database into an empty one, ids and all (they name log folders and
/// appear in review comments): how an installation moves from SQLite to PostgreSQL. Quartz's tables are not copied;
/// the service writes its schedule again at start.
/// </summary>
public static class StoreCopy
{
    /// <summary>
    /// Every table of the schema, parents before children, each in id order so a retry's <c>retry_of</c> finds its job;
    /// a test checks that no table of the schema is missing.
    /// </summary>
    public static IReadOnlyList<(string Table, string Order)> Tables { get; } =
    [
        ("runs", "id"),
        ("jobs", "id"),
        ("job_modules", "job_id, phase, module"),
        ("job_phase_snapshots", "job_id, phase, role"),
        ("lockfile_texts", "hash"),
        ("job_lockfiles", "job_id"),
        ("job_scenario_files", "job_id, path"),
        ("steps", "id"),
        ("idempotency_changes", "id"),
        ("tempest_tests", "id"),
        ("cell_results", "module, branch, cell_key"),
        ("branch_heads", "module, branch"),
        ("module_poll_status", "module"),
        ("report_requests", "run_id"),
        ("run_reports", "run_id, reporter"),
        ("recheck_projects", "project"),
        ("recheck_cursors", "change_number"),
        ("instances", "id"),
        ("instance_engines", "instance_id, ordinal"),
        ("bisects", "id"),
        ("bisect_commits", "bisect_id, position"),
        ("bisect_steps", "job_id"),
        ("bisect_requests", "bad_job_id"),
    ];

    /// <summary>Tables whose <c>id</c> the database generates: the target's generator is moved past the copied ids.</summary>
    private static readonly string[] IdentityTables = ["runs", "jobs", "steps", "idempotency_changes", "tempest_tests", "bisects"];

    /// <summary>
    /// Brings both schemas up to date, then copies every table in one transaction of the target: the target holds the
    /// whole history or, after any failure, nothing of it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The target already holds runs, jobs or poll state.</exception>
    public static async Task<StoreCopyResult> CopyAsync(ResultsDatabase source, ResultsDatabase target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        await source.EnsureSchemaAsync(cancellationToken);
        await target.EnsureSchemaAsync(cancellationToken);

        await using DbConnection reader = await source.OpenAsync(cancellationToken);
        await using DbTransaction snapshot = await source.Dialect.BeginReadAsync(reader, cancellationToken);
        return await target.WriteAsync(
            async (connection, transaction) =>
            {
                const string Holds = "SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM branch_heads) + (SELECT COUNT(*) FROM module_poll_status)";
                if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(Holds, transaction: transaction, cancellationToken: cancellationToken)) > 0)
                {
                    throw new InvalidOperationException(
                        $"The results database {target.Location} is not empty: it already holds runs or poll state. Copy into a new, empty database.");
                }

                var copied = new List<(string, long)>();
                foreach ((string table, string order) in Tables)
                {
                    long rows = 0;
                    string? insert = null;
                    IEnumerable<dynamic> selected = await reader.QueryAsync(new CommandDefinition(
                        $"SELECT * FROM {table} ORDER BY {order}", transaction: snapshot, cancellationToken: cancellationToken));
                    foreach (IDictionary<string, object?> row in selected.Cast<IDictionary<string, object?>>())
                    {
                        insert ??= $"INSERT INTO {table} ({string.Join(", ", row.Keys)}) VALUES ({string.Join(", ", row.Keys.Select(k => "@" + k))})";
                        await connection.ExecuteAsync(new CommandDefinition(insert, new DynamicParameters(row), transaction, cancellationToken: cancellationToken));
                        rows++;
                    }

                    copied.Add((table, rows));
                }

                await target.Dialect.AfterCopyAsync(connection, transaction, IdentityTables, cancellationToken);
                return new StoreCopyResult(copied);
            },
            cancellationToken);
    }
}
