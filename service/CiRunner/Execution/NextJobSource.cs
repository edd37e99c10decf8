using CiRunner.Configuration;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// Hands the dispatcher the next job to start, once it may start: the Docker engine answers (an outage holds the
/// queue rather than failing jobs) and every start gate (free disk space, ...) is open. After an outage, or after a
/// job lost its engine, it first removes the containers the engine may have left.
/// </summary>
public sealed partial class NextJobSource
{
    private readonly JobQueue _queue;
    private readonly DockerEngineMonitor _engine;
    private readonly OrphanReaper _reaper;
    private readonly IReadOnlyList<IJobStartGate> _startGates;
    private readonly RunningJobs _running;
    private readonly ServiceOptions _service;
    private readonly ILogger<NextJobSource> _logger;

    /// <summary>1 when a job lost its engine: containers the engine may have left are looked for before the next start.</summary>
    private int _sweepDue;

    public NextJobSource(
        JobQueue queue,
        DockerEngineMonitor engine,
        OrphanReaper reaper,
        IEnumerable<IJobStartGate> startGates,
        RunningJobs running,
        IOptions<ServiceOptions> service,
        ILogger<NextJobSource> logger)
    {
        _queue = queue;
        _engine = engine;
        _reaper = reaper;
        _startGates = startGates.ToList();
        _running = running;
        _service = service.Value;
        _logger = logger;
    }

    /// <summary>The next job to start, once the Docker engine answers and every start gate lets it start.</summary>
    public async Task<QueuedJob> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await WaitForEngineAsync(cancellationToken);
            QueuedJob next = await _queue.DequeueAsync(WaitForStartGatesAsync, cancellationToken);
            if (await _engine.IsAvailableAsync(cancellationToken))
            {
                return next;
            }

            // The engine went away while the dispatcher waited for work: the job keeps its place at the front.
            _queue.PutBack(next);
        }
    }

    /// <summary>
    /// A job's error had a transient cause: the engine let it down. Counted as the engine's error, and the engine is
    /// asked again before the next start, and cleaned up after.
    /// </summary>
    public void EngineLetJobDown(string cause)
    {
        _engine.RecordJobLost(cause);
        Interlocked.Exchange(ref _sweepDue, 1);
    }

    private async Task WaitForEngineAsync(CancellationToken cancellationToken)
    {
        bool wasDown = await _engine.WaitUntilAvailableAsync(cancellationToken);

        // Not ||: the flag is taken in either case, so one sweep answers both reasons.
        if (wasDown | Interlocked.Exchange(ref _sweepDue, 0) == 1)
        {
            await SweepAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Removes this instance's containers that no running job of this process owns: a job that lost its engine could
    /// not remove its container, and a daemon restart may keep it. Failing here only leaves them to the next start.
    /// </summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<ReapedContainer> reaped = await _reaper.ReapAsync(
                _service.InstanceId, container => container.JobId is { } jobId && _running.Contains(jobId), cancellationToken);
            if (reaped.Count > 0)
            {
                LogSwept(reaped.Count, _service.InstanceId);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReapFailed(e, _service.InstanceId);
        }
    }

    /// <summary>With a job waiting: until every start gate (free disk space, ...) lets it start.</summary>
    private async Task WaitForStartGatesAsync(CancellationToken cancellationToken)
    {
        foreach (IJobStartGate gate in _startGates)
        {
            await gate.WaitUntilOpenAsync(cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for containers left by instance '{InstanceId}' (is the Docker engine running?)")]
    private partial void LogReapFailed(Exception exception, string instanceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} containers of instance '{InstanceId}' that no running job owns (left when the engine went away)")]
    private partial void LogSwept(int count, string instanceId);
}
