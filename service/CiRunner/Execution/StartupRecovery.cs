using CiRunner.Configuration;
using CiRunner.Results;
using Microsoft.Extensions.Options;
using Polly;

namespace CiRunner.Execution;

/// <summary>
/// What the dispatcher does before it starts any job: recovers what an earlier process of this instance left.
/// Its containers are reaped, jobs that were running end as interrupted (and are queued again as their next
/// attempt while <c>Service:MaxAttempts</c> allows), and jobs still queued in the database are queued again.
/// Running jobs of other instances are theirs (several instances on PostgreSQL); <see cref="ClusterWatch"/> ends them
/// once their instance stops checking in.
/// </summary>
public sealed partial class StartupRecovery
{
    private const string InterruptedSummary = "The service stopped while this job ran; its container was removed when the service started again.";

    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly EnginePool _pool;
    private readonly ServiceOptions _service;
    private readonly ILogger<StartupRecovery> _logger;
    private readonly ResiliencePipeline _untilStored;
    private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StartupRecovery(JobStore jobs, JobQueue queue, EnginePool pool, IOptions<ServiceOptions> service, TimeProvider timeProvider, ILogger<StartupRecovery> logger)
    {
        _jobs = jobs;
        _queue = queue;
        _pool = pool;
        _service = service.Value;
        _logger = logger;

        // Nothing can start before earlier jobs are closed; the lock ends some time, the service waits for it.
        _untilStored = DatabaseLockRetry.UntilStored(
            jobs.IsDiskFull, timeProvider, e => e is DatabaseLockedException, DiskSpaceGuard.DefaultRecheckInterval, e => LogRecoveryDeferred(e.Message));
    }

    /// <summary>Completes when recovery is done, whether or not it succeeded (for tests and health).</summary>
    public Task Recovered => _recovered.Task;

    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (JobEngine engine in _pool.Engines)
            {
                try
                {
                    IReadOnlyList<ReapedContainer> reaped = await engine.Reaper.ReapAsync(_service.InstanceId, cancellationToken);
                    LogReaped(reaped.Count, _service.InstanceId, engine.Name);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The engine may be down; its containers are reaped when it answers again (the pool's sweep), and jobs still end below.
                    LogReapFailed(e, _service.InstanceId, engine.Name);
                }
            }

            // Interrupted is never the job's fault: each is queued again (below, with the other queued jobs) while attempts are left.
            IReadOnlyList<JobCompletion> interrupted = await _untilStored.ExecuteAsync(
                async token => await _jobs.FinishRunningLeftBehindAsync(
                    _service.InstanceId,
                    new JobEnd(JobResult.Interrupted, InterruptedSummary) { MaxAttempts = _service.MaxAttempts },
                    token),
                cancellationToken);

            IReadOnlyList<JobRecord> queued = await _jobs.ListByStateAsync(JobState.Queued, cancellationToken);
            foreach (JobRecord job in queued)
            {
                _queue.Enqueue(QueuedJob.For(job));
            }

            LogRecovered(interrupted.Count, queued.Count);
        }
        finally
        {
            _recovered.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} containers left by an earlier process of instance '{InstanceId}' from engine {Engine}")]
    private partial void LogReaped(int count, string instanceId, string engine);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for containers left by instance '{InstanceId}' on engine {Engine} (is it running?)")]
    private partial void LogReapFailed(Exception exception, string instanceId, string engine);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Start-up recovery waits for the results database. {Reason}")]
    private partial void LogRecoveryDeferred(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovered: {Interrupted} jobs marked interrupted, {Queued} queued jobs queued again")]
    private partial void LogRecovered(int interrupted, int queued);
}
