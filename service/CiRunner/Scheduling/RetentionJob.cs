using CiRunner.Configuration;
using CiRunner.Results;
using Microsoft.Extensions.Options;
using Quartz;

namespace CiRunner.Scheduling;

/// <summary>
/// Prunes what is older than <c>Retention:MaxAge</c> (job logs and job details; run summaries and every cell's
/// latest result stay), then compacts the database so the file shrinks, and removes the phase snapshots no job has
/// made or started from within that age.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class RetentionJob : IJob
{
    public static readonly JobKey Key = new("retention", "cirunner");

    public static readonly TriggerKey TriggerKey = new("retention", "cirunner");

    private readonly RetentionStore _store;
    private readonly RetentionOptions _options;
    private readonly DataPaths _paths;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RetentionJob> _logger;
    private readonly Execution.PhaseSnapshotRetention? _snapshots;

    public RetentionJob(
        RetentionStore store, IOptions<RetentionOptions> options, DataPaths paths, TimeProvider timeProvider, ILogger<RetentionJob> logger, Execution.PhaseSnapshotRetention? snapshots = null)
    {
        _snapshots = snapshots;
        _store = store;
        _options = options.Value;
        _paths = paths;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await RunAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A locked database or a full disk must not stop the scheduler; the next run tries again.
            LogPruneFailed(e);
        }
    }

    /// <summary>Prunes now; returns what went.</summary>
    public async Task<PruneResult> RunAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset cutoff = _timeProvider.GetUtcNow() - _options.MaxAge;
        PruneResult result = await _store.PruneAsync(cutoff, cancellationToken);
        int deleted = 0;
        foreach (string logFile in result.LogFiles)
        {
            string path = Path.IsPathFullyQualified(logFile) ? logFile : Path.Combine(_paths.Root, logFile);
            try
            {
                if (File.Exists(path))
                {
                    File.Delete(path);
                    deleted++;
                }
            }
            catch (IOException e)
            {
                LogLogNotDeleted(path, e.Message);
            }
            catch (UnauthorizedAccessException e)
            {
                LogLogNotDeleted(path, e.Message);
            }
        }

        await _store.CompactAsync(cancellationToken);
        int snapshots = _snapshots is null ? 0 : await _snapshots.PruneAsync(cutoff, cancellationToken);
        LogPruned(result.Jobs, deleted, snapshots, cutoff);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: pruned {Jobs} jobs finished before {Cutoff:u}, deleted {Logs} log files, compacted the database, removed {Snapshots} phase snapshots unused since then")]
    private partial void LogPruned(int jobs, int logs, int snapshots, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention: could not delete {Path}: {Reason}")]
    private partial void LogLogNotDeleted(string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention: pruning failed; it is tried again at the next scheduled time")]
    private partial void LogPruneFailed(Exception exception);
}
