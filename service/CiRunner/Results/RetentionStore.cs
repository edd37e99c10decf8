using Dapper;

namespace CiRunner.Results;

/// <summary>What one pruning removed.</summary>
/// <param name="Jobs">Jobs whose details and log went.</param>
/// <param name="LogFiles">Their log files as stored (absolute, or relative to the data directory); the caller deletes them.</param>
public sealed record PruneResult(int Jobs, IReadOnlyList<string> LogFiles);

/// <summary>
/// Removes the details of old jobs: steps, Tempest tests, phase snapshot rows and the log reference. Runs and job
/// rows (the summaries) stay, and so do idempotency changes (a few rows per job, which a cell's drift history reads
/// across runs: <see cref="CellHistoryStore"/>; they lose only their step), and so does every detail of a job that is some cell's latest result, which the
/// dashboard and reports still link to. The lockfile stays too (<c>job_modules</c>, <c>job_lockfiles</c>,
/// <c>job_scenario_files</c>, <c>lockfile_texts</c>): a replay of an old job needs nothing else, and it is small (a
/// row per module and per scenario file, the texts kept once per hash however many jobs ran them).
/// </summary>
public sealed class RetentionStore
{
    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public RetentionStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>Prunes jobs that finished before <paramref name="cutoff"/>, in one transaction.</summary>
    public async Task<PruneResult> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        const string SelectExpired = """
            SELECT id AS Id, log_path AS LogPath FROM jobs
            WHERE state = 'finished' AND finished_at < @Cutoff
              AND (log_path IS NOT NULL
                   OR EXISTS (SELECT 1 FROM steps WHERE steps.job_id = jobs.id))
              AND id NOT IN (SELECT job_id FROM cell_results)
            """;
        string ofExpired = _database.Dialect.InList("@Ids");
        string detachChanges = $"UPDATE idempotency_changes SET step_id = NULL WHERE job_id {ofExpired}";
        string deleteTempestTests = $"DELETE FROM tempest_tests WHERE job_id {ofExpired}";
        string deleteSteps = $"DELETE FROM steps WHERE job_id {ofExpired}";
        string deletePhaseSnapshots = $"DELETE FROM job_phase_snapshots WHERE job_id {ofExpired}";
        // The time stays, so the job's page says its log expired rather than that it never had one.
        string forgetLogs = $"UPDATE jobs SET log_path = NULL, pruned_at = @Now WHERE id {ofExpired}";

        List<ExpiredJob> expired = await _database.WriteAsync(
            async (connection, transaction) =>
            {
                List<ExpiredJob> expired = (await connection.QueryAsync<ExpiredJob>(
                    new CommandDefinition(SelectExpired, new { Cutoff = DbValue.Time(cutoff) }, transaction, cancellationToken: cancellationToken))).ToList();

                // SQLite caps the number of parameters in one statement; prune in slices.
                string now = DbValue.Time(DbValue.Now(_timeProvider));
                foreach (long[] slice in expired.Select(job => job.Id).Chunk(500))
                {
                    var ids = new { Ids = slice, Now = now };
                    foreach (string statement in (string[])[detachChanges, deleteTempestTests, deleteSteps, deletePhaseSnapshots, forgetLogs])
                    {
                        await connection.ExecuteAsync(new CommandDefinition(statement, ids, transaction, cancellationToken: cancellationToken));
                    }
                }

                return expired;
            },
            cancellationToken);

        return new PruneResult(expired.Count, expired.Where(job => job.LogPath is not null).Select(job => job.LogPath!).ToList());
    }

    /// <summary>
    /// Gives the space of pruned rows back: on SQLite the file shrinks (incremental auto-vacuum); PostgreSQL's autovacuum
    /// does it on its own.
    /// </summary>
    public Task CompactAsync(CancellationToken cancellationToken) => _database.Dialect.CompactAsync(cancellationToken);

    private sealed record ExpiredJob(long Id, string? LogPath);
}
