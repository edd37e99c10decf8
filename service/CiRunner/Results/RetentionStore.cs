using Dapper;
using Microsoft.Data.Sqlite;

namespace CiRunner.Results;

/// <summary>What one pruning removed.</summary>
/// <param name="Jobs">Jobs whose details and log went.</param>
/// <param name="LogFiles">Their log files as stored (absolute, or relative to the data directory); the caller deletes them.</param>
public sealed record PruneResult(int Jobs, IReadOnlyList<string> LogFiles);

/// <summary>
/// Removes the details of old jobs: steps, idempotency changes, Tempest tests, lockfile rows and the log reference. Runs and job
/// rows (the summaries) stay, and so does every detail of a job that is some cell's latest result, which the
/// dashboard and reports still link to.
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
                   OR EXISTS (SELECT 1 FROM steps WHERE steps.job_id = jobs.id)
                   OR EXISTS (SELECT 1 FROM job_modules WHERE job_modules.job_id = jobs.id))
              AND id NOT IN (SELECT job_id FROM cell_results)
            """;
        const string DeleteChanges = "DELETE FROM idempotency_changes WHERE job_id IN @Ids";
        const string DeleteTempestTests = "DELETE FROM tempest_tests WHERE job_id IN @Ids";
        const string DeleteSteps = "DELETE FROM steps WHERE job_id IN @Ids";
        const string DeleteModules = "DELETE FROM job_modules WHERE job_id IN @Ids";
        // The time stays, so the job's page says its log expired rather than that it never had one.
        const string ForgetLogs = "UPDATE jobs SET log_path = NULL, pruned_at = @Now WHERE id IN @Ids";

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
                    foreach (string statement in (string[])[DeleteChanges, DeleteTempestTests, DeleteSteps, DeleteModules, ForgetLogs])
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
    /// Gives freed pages back to the file system. The first time it switches the database to incremental
    /// auto-vacuum, which only takes effect through one full VACUUM; after that an incremental vacuum is enough.
    /// </summary>
    public async Task CompactAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await _database.OpenAsync(cancellationToken);
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

    private sealed record ExpiredJob(long Id, string? LogPath);
}
