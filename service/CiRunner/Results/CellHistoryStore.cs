using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>
/// A matrix cell's history on its module branch: its last results (the history page), the failure signatures among
/// them, the idempotency drift, and the short strips of recent results the matrix grid shows. Only the branch's own
/// runs count, by the rule of the cell's latest result (<see cref="ResultPolicy.UpdatesCell"/>): verdicts of runs
/// without a change ref; replays and bisect steps re-run old lockfiles, so they are no point of the branch's history.
/// </summary>
public sealed class CellHistoryStore
{
    /// <summary>The history page's number of results unless asked for another.</summary>
    public const int DefaultLimit = 30;

    /// <summary>The most results one history holds: a page, not an export.</summary>
    public const int MaxLimit = 200;

    private static readonly string[] Verdicts = Enum.GetValues<JobResult>()
        .Where(r => ResultPolicy.UpdatesCell(r, changeRef: null))
        .Select(r => DbValue.Text(r))
        .ToArray();

    private readonly ResultsDatabase _database;

    public CellHistoryStore(ResultsDatabase database)
    {
        _database = database;
    }

    /// <summary>
    /// The cell's last <paramref name="limit"/> results, newest first, with their earlier attempts, the failure
    /// signatures counted over those runs' attempts, and the drift of its idempotency steps over the same runs. An
    /// empty history when the cell never ran on the branch.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not between 1 and <see cref="MaxLimit"/>.</exception>
    public async Task<CellHistory> ReadAsync(string module, string branch, string cellKey, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxLimit);

        string selectRuns = """
            SELECT jobs.id AS JobId, jobs.run_id AS RunId, runs.cause AS Cause, runs.commit_sha AS CommitSha, jobs.result AS Result,
                   jobs.duration_ms AS DurationMs, jobs.finished_at AS FinishedAt, jobs.attempt AS Attempt, jobs.rerun_of AS RerunOf,
                   jobs.failure_signature AS FailureSignature
            """ + HistoryJobs() + """
              AND runs.module = @Module AND runs.branch = @Branch AND jobs.cell_key = @CellKey
            ORDER BY jobs.finished_at DESC, jobs.id DESC
            LIMIT @Limit
            """;
        string selectEarlier = $"""
            SELECT jobs.id AS JobId, jobs.run_id AS RunId, jobs.attempt AS Attempt, jobs.result AS Result, jobs.rerun_of AS RerunOf,
                   jobs.failure_signature AS FailureSignature, jobs.finished_at AS FinishedAt
            FROM jobs
            WHERE jobs.run_id {_database.Dialect.InList("@RunIds")} AND jobs.cell_key = @CellKey AND jobs.id {_database.Dialect.NotInList("@JobIds")}
            ORDER BY jobs.attempt, jobs.id
            """;
        string selectChanges = $"""
            SELECT idempotency_changes.job_id AS JobId, idempotency_changes.phase AS Phase, idempotency_changes.step_name AS StepName,
                   idempotency_changes.resource_type AS ResourceType, idempotency_changes.title AS Title, idempotency_changes.property AS Property
            FROM idempotency_changes
            WHERE idempotency_changes.job_id {_database.Dialect.InList("@JobIds")}
            ORDER BY idempotency_changes.id
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);

        // A read transaction: the runs, their attempts and their changes come from the same snapshot.
        await using DbTransaction transaction = await _database.Dialect.BeginReadAsync(connection, cancellationToken);
        List<RunRow> runs = (await connection.QueryAsync<RunRow>(new CommandDefinition(
            selectRuns,
            new
            {
                Module = module,
                Branch = branch,
                CellKey = cellKey,
                Limit = limit,
                Verdicts,
                Replay = DbValue.Text(RunCause.Replay),
                Bisect = DbValue.Text(RunCause.Bisect),
            },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        if (runs.Count == 0)
        {
            return new CellHistory(module, branch, cellKey, limit, [], [], []);
        }

        long[] latestIds = runs.Select(r => r.JobId).ToArray();
        List<AttemptRow> earlier = (await connection.QueryAsync<AttemptRow>(new CommandDefinition(
            selectEarlier,
            new { RunIds = runs.Select(r => r.RunId).Distinct().ToArray(), CellKey = cellKey, JobIds = latestIds },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        long[] allIds = [.. latestIds, .. earlier.Select(a => a.JobId)];
        List<ChangeRow> changes = (await connection.QueryAsync<ChangeRow>(new CommandDefinition(
            selectChanges, new { JobIds = allIds }, transaction, cancellationToken: cancellationToken))).ToList();

        return Assemble(module, branch, cellKey, limit, runs, earlier, changes);
    }

    /// <summary>
    /// The last <paramref name="perCell"/> results of every cell that has a latest result, oldest first per cell, by
    /// (module, branch, cell key): the matrix grid's strips, in one query for the whole page.
    /// </summary>
    public async Task<IReadOnlyDictionary<(string Module, string Branch, string CellKey), IReadOnlyList<CellStripEntry>>> ListStripsAsync(
        int perCell, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perCell, 1);

        // Driven by the cells on the grid: each cell's newest results come from its own index range (jobs by cell key
        // and finish time), not from a window over every job of the branch's history.
        string newestOfCell = "SELECT jobs.id" + HistoryJobs() + """
              AND runs.module = cell_results.module AND runs.branch = cell_results.branch AND jobs.cell_key = cell_results.cell_key
            ORDER BY jobs.finished_at DESC, jobs.id DESC
            LIMIT @PerCell
            """;
        string selectStrips = $"""
            SELECT cell_results.module AS Module, cell_results.branch AS Branch, cell_results.cell_key AS CellKey, shown.id AS JobId,
                   shown.result AS Result, shown_run.commit_sha AS CommitSha, shown.finished_at AS FinishedAt, shown.attempt AS Attempt
            FROM cell_results
            JOIN jobs AS shown ON shown.id {_database.Dialect.InSubquery(newestOfCell)}
            JOIN runs AS shown_run ON shown_run.id = shown.run_id
            ORDER BY cell_results.module, cell_results.branch, cell_results.cell_key, shown.finished_at, shown.id
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        IEnumerable<StripRow> rows = await connection.QueryAsync<StripRow>(new CommandDefinition(
            selectStrips,
            new { PerCell = perCell, Verdicts, Replay = DbValue.Text(RunCause.Replay), Bisect = DbValue.Text(RunCause.Bisect) },
            cancellationToken: cancellationToken));
        return rows
            .GroupBy(r => (r.Module, r.Branch, r.CellKey))
            .ToDictionary(
                g => g.Key,
                g => (IReadOnlyList<CellStripEntry>)g
                    .Select(r => new CellStripEntry(r.JobId, DbValue.Parse<JobResult>(r.Result), r.CommitSha, DbValue.ParseTime(r.FinishedAt), checked((int)r.Attempt)))
                    .ToList());
    }

    /// <summary>The jobs of a cell's history: finished verdicts of the branch's own runs, latest attempts only.</summary>
    private string HistoryJobs() => $"""

        FROM jobs JOIN runs ON runs.id = jobs.run_id
        WHERE runs.change_ref IS NULL AND runs.cause <> @Replay AND runs.cause <> @Bisect
          AND jobs.state = 'finished' AND jobs.finished_at IS NOT NULL AND jobs.result {_database.Dialect.InList("@Verdicts")}
          AND {JobRow.LatestAttempt}

        """;

    private static CellHistory Assemble(
        string module, string branch, string cellKey, int limit, List<RunRow> runs, List<AttemptRow> earlier, List<ChangeRow> changes)
    {
        ILookup<long, AttemptRow> earlierByRun = earlier.ToLookup(a => a.RunId);
        ILookup<long, ChangeRow> changesByJob = changes.ToLookup(c => c.JobId);

        // The failure signatures of every attempt: a flaky run's failed attempt is what the ledger is about.
        var failures = runs.Select(r => (r.JobId, r.FailureSignature, r.FinishedAt))
            .Concat(earlier.Where(a => a.FinishedAt is not null).Select(a => (a.JobId, a.FailureSignature, FinishedAt: a.FinishedAt!)))
            .Where(f => f.FailureSignature is not null)
            .GroupBy(f => f.FailureSignature!, StringComparer.Ordinal)
            .Select(g =>
            {
                var last = g.MaxBy(f => (f.FinishedAt, f.JobId));
                return new FailureSignatureCount(g.Key, g.Count(), last.JobId, DbValue.ParseTime(last.FinishedAt));
            })
            .OrderByDescending(f => f.Count)
            .ThenByDescending(f => f.LastSeen)
            .ThenBy(f => f.Signature, StringComparer.Ordinal)
            .ToList();

        // Every sighting, newest first: runs newest first and, within a run, its latest attempt before the earlier ones.
        // A property changed in several attempts of a run counts once for the run.
        var cellRuns = new List<CellRun>();
        var sightings = new Dictionary<DriftKey, List<(int RunIndex, DriftSighting Seen, string StepName)>>();
        for (int i = 0; i < runs.Count; i++)
        {
            RunRow run = runs[i];
            var seenInRun = new HashSet<DriftKey>();
            Sight(i, run.JobId, run.FinishedAt);
            foreach (AttemptRow attempt in earlierByRun[run.RunId].Reverse())
            {
                Sight(i, attempt.JobId, attempt.FinishedAt ?? run.FinishedAt);
            }

            cellRuns.Add(new CellRun(
                run.RunId,
                run.JobId,
                DbValue.Parse<RunCause>(run.Cause),
                run.CommitSha,
                DbValue.Parse<JobResult>(run.Result),
                DbValue.Duration(run.DurationMs),
                DbValue.ParseTime(run.FinishedAt),
                checked((int)run.Attempt),
                run.RerunOf is not null,
                run.FailureSignature,
                seenInRun.Count,
                earlierByRun[run.RunId]
                    .Select(a => new CellAttempt(a.JobId, checked((int)a.Attempt), DbValue.ParseOptional<JobResult>(a.Result), a.RerunOf is not null, a.FailureSignature))
                    .ToList()));

            void Sight(int runIndex, long jobId, string finishedAt)
            {
                foreach (ChangeRow change in changesByJob[jobId])
                {
                    var key = new DriftKey(change.Phase, change.ResourceType, change.Title, change.Property);
                    seenInRun.Add(key);
                    if (!sightings.TryGetValue(key, out List<(int, DriftSighting, string)>? seen))
                    {
                        sightings[key] = seen = [];
                    }

                    if (seen.Count == 0 || seen[^1].Item2.JobId != jobId)
                    {
                        seen.Add((runIndex, new DriftSighting(jobId, run.CommitSha, DbValue.ParseTime(finishedAt)), change.StepName));
                    }
                }
            }
        }

        List<IdempotencyDrift> drift = sightings
            .Select(pair =>
            {
                (int newestIndex, DriftSighting newest, string stepName) = pair.Value[0];
                return new IdempotencyDrift(
                    pair.Key.Phase,
                    stepName,
                    pair.Key.ResourceType,
                    pair.Key.Title,
                    pair.Key.Property,
                    FirstSeen: pair.Value[^1].Seen,
                    LastSeen: newest,
                    Runs: pair.Value.Select(s => s.RunIndex).Distinct().Count(),
                    StillChanges: newestIndex == 0);
            })
            .OrderByDescending(d => d.StillChanges)
            .ThenByDescending(d => d.Runs)
            .ThenBy(d => PhaseNames.Order(d.Phase))
            .ThenBy(d => d.Resource, StringComparer.Ordinal)
            .ThenBy(d => d.Property, StringComparer.Ordinal)
            .ToList();

        return new CellHistory(module, branch, cellKey, limit, cellRuns, failures, drift);
    }

    private sealed record DriftKey(string Phase, string ResourceType, string Title, string Property);

    private sealed record RunRow(
        long JobId, long RunId, string Cause, string CommitSha, string Result, long? DurationMs, string FinishedAt, long Attempt, long? RerunOf, string? FailureSignature);

    private sealed record AttemptRow(long JobId, long RunId, long Attempt, string? Result, long? RerunOf, string? FailureSignature, string? FinishedAt);

    private sealed record ChangeRow(long JobId, string Phase, string StepName, string ResourceType, string Title, string Property);

    private sealed record StripRow(string Module, string Branch, string CellKey, long JobId, string Result, string CommitSha, string FinishedAt, long Attempt);
}
