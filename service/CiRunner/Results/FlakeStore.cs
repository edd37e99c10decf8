using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>
/// One failure signature of one cell in the flake ledger, over the cell's last runs (<c>Flakes:Window</c>).
/// </summary>
/// <param name="Module">The module.</param>
/// <param name="Branch">Its branch.</param>
/// <param name="CellKey">The cell.</param>
/// <param name="Signature">What failed (<see cref="FailureSignature"/>).</param>
/// <param name="Runs">How many of the cell's runs the window holds (runs with a verdict: passed, flaky, failed or timed out).</param>
/// <param name="Flaky">Runs of the window where the cell failed with this signature and then passed on the same lockfile.</param>
/// <param name="Failed">Runs of the window where it failed with this signature every time.</param>
/// <param name="FirstSeen">The oldest of those runs' ends in the window.</param>
/// <param name="LastSeen">The newest.</param>
/// <param name="LastJobId">The job that ended last with it.</param>
public sealed record FlakeLedgerEntry(
    string Module,
    string Branch,
    string CellKey,
    string Signature,
    int Runs,
    int Flaky,
    int Failed,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    long LastJobId)
{
    /// <summary>The share of the window's runs in which this signature flaked.</summary>
    public double FlakeRate => Runs == 0 ? 0 : (double)Flaky / Runs;

    /// <summary>Whether a failure with this signature is known flaky: it flaked in more than <paramref name="threshold"/> of the window's runs.</summary>
    public bool IsKnownFlaky(double threshold) => Flaky > 0 && FlakeRate > threshold;

    /// <summary>How the review and the pages say it: <c>3 of the last 20 runs</c>.</summary>
    public string Describe() => $"{Flaky} of the last {Runs} run{(Runs == 1 ? "" : "s")}";
}

/// <summary>
/// The flake ledger: per cell and failure signature, how often the cell flaked (failed, then passed on the same
/// lockfile) and failed for good over its last runs. Read from the jobs themselves (each finished job keeps its result
/// and signature, and retention keeps job rows), so the ledger needs no table of its own and cannot drift from them.
/// A run counts once, by its cell's final attempt; replays and bisect steps re-run past lockfiles and do not count.
/// </summary>
public sealed class FlakeStore
{
    private readonly ResultsDatabase _database;

    public FlakeStore(ResultsDatabase database)
    {
        _database = database;
    }

    /// <summary>The ledger's entries, most flaky first; only signatures that flaked at least once unless <paramref name="withFailures"/>.</summary>
    /// <param name="module">Only this module; null for all.</param>
    /// <param name="branch">Only this branch; null for all.</param>
    /// <param name="window">How many of each cell's latest runs count (<c>Flakes:Window</c>).</param>
    /// <param name="withFailures">Also signatures that only ever failed (never passed on a re-run).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<FlakeLedgerEntry>> LedgerAsync(string? module, string? branch, int window, bool withFailures, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IReadOnlyList<VerdictRow> rows = await RecentVerdictsAsync(connection, module, branch, cellKey: null, window, cancellationToken);
        return Tally(rows)
            .Where(e => withFailures || e.Flaky > 0)
            .OrderByDescending(e => e.FlakeRate)
            .ThenByDescending(e => e.LastSeen)
            .ThenBy(e => e.Module, StringComparer.Ordinal)
            .ThenBy(e => e.Branch, StringComparer.Ordinal)
            .ThenBy(e => e.CellKey, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The ledger's entry for one cell and signature (what a review asks of a failure); null when the cell never failed with it in the window.</summary>
    public async Task<FlakeLedgerEntry?> FindAsync(string module, string branch, string cellKey, string signature, int window, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IReadOnlyList<VerdictRow> rows = await RecentVerdictsAsync(connection, module, branch, cellKey, window, cancellationToken);
        return Tally(rows).FirstOrDefault(e => string.Equals(e.Signature, signature, StringComparison.Ordinal));
    }

    /// <summary>Each cell's final attempts with a verdict, newest first, at most <paramref name="window"/> per cell.</summary>
    private static async Task<IReadOnlyList<VerdictRow>> RecentVerdictsAsync(
        DbConnection connection, string? module, string? branch, string? cellKey, int window, CancellationToken cancellationToken)
    {
        // The filters are added as text, never as "@X IS NULL OR ...": PostgreSQL cannot type a parameter that is only compared with NULL.
        string filters = (module is null ? "" : " AND runs.module = @Module")
            + (branch is null ? "" : " AND runs.branch = @Branch")
            + (cellKey is null ? "" : " AND jobs.cell_key = @CellKey");
        string select = $"""
            SELECT Module, Branch, CellKey, JobId, Result, Signature, FinishedAt FROM (
                SELECT runs.module AS Module, runs.branch AS Branch, jobs.cell_key AS CellKey, jobs.id AS JobId,
                    jobs.result AS Result, jobs.failure_signature AS Signature, jobs.finished_at AS FinishedAt,
                    ROW_NUMBER() OVER (PARTITION BY runs.module, runs.branch, jobs.cell_key ORDER BY jobs.finished_at DESC, jobs.id DESC) AS Position
                FROM jobs JOIN runs ON runs.id = jobs.run_id
                WHERE jobs.state = 'finished' AND jobs.result IN ('success', 'flaky', 'failure', 'timeout')
                  AND jobs.replay_of IS NULL AND runs.cause NOT IN ('replay', 'bisect')
                  AND {JobRow.LatestAttempt}{filters}
            ) AS recent
            WHERE Position <= @Window
            ORDER BY Module, Branch, CellKey, FinishedAt DESC
            """;

        IEnumerable<VerdictRow> rows = await connection.QueryAsync<VerdictRow>(new CommandDefinition(
            select, new { Module = module, Branch = branch, CellKey = cellKey, Window = window }, cancellationToken: cancellationToken));
        return rows.ToList();
    }

    private static IEnumerable<FlakeLedgerEntry> Tally(IReadOnlyList<VerdictRow> rows)
    {
        foreach (var cell in rows.GroupBy(r => (r.Module, r.Branch, r.CellKey)))
        {
            int runs = cell.Count();
            foreach (var signature in cell.Where(r => r.Signature is not null && r.Result != "success").GroupBy(r => r.Signature!, StringComparer.Ordinal))
            {
                List<VerdictRow> seen = signature.OrderBy(r => r.FinishedAt, StringComparer.Ordinal).ToList();
                yield return new FlakeLedgerEntry(
                    cell.Key.Module,
                    cell.Key.Branch,
                    cell.Key.CellKey,
                    signature.Key,
                    runs,
                    Flaky: seen.Count(r => r.Result == "flaky"),
                    Failed: seen.Count(r => r.Result != "flaky"),
                    DbValue.ParseTime(seen[0].FinishedAt),
                    DbValue.ParseTime(seen[^1].FinishedAt),
                    seen[^1].JobId);
            }
        }
    }

    private sealed record VerdictRow(string Module, string Branch, string CellKey, long JobId, string Result, string? Signature, string FinishedAt);
}
