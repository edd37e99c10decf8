using CiRunner.Configuration;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// The engines jobs run on (<c>Docker:Engines</c>, or the one engine of <c>Docker:Endpoint</c>). A job goes to an
/// engine that answers, has a free slot and takes the job's releases, the least busy first. An engine that stops
/// answering takes no new work (its running jobs lose it and are retried elsewhere, <see cref="Results.RetryPolicy"/>) and
/// rejoins when it answers again, after its leftover containers are removed: <see cref="WatchAsync"/> asks each
/// engine every few seconds, and the queue is woken whenever what the pool can take changes.
/// </summary>
public sealed partial class EnginePool : IDisposable
{
    /// <summary>How often an answering engine is asked again: how late an engine that went away is noticed while idle.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an engine may not answer before the jobs running on it are ended (and retried elsewhere): a stopped
    /// engine breaks their streams at once, but one that hangs or whose network is cut would hold them until their timeout.
    /// </summary>
    public static readonly TimeSpan DefaultDrainAfter = TimeSpan.FromSeconds(30);

    private readonly JobQueue _queue;
    private readonly RunningJobs _running;
    private readonly ServiceOptions _service;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EnginePool> _logger;
    private readonly Func<QueuedJob, bool> _bootsSystemd;

    /// <param name="engines">The engines, in configuration order.</param>
    /// <param name="queue">Woken when a slot comes free.</param>
    /// <param name="running">The jobs running in this process.</param>
    /// <param name="service">The instance whose containers the sweeps look for.</param>
    /// <param name="timeProvider">Paces the watch.</param>
    /// <param name="logger">Drains, sweeps and their failures.</param>
    /// <param name="drainAfter">How long an engine may not answer before its jobs end (<see cref="DefaultDrainAfter"/>).</param>
    /// <param name="bootsSystemd">Whether a queued job boots systemd (<see cref="JobSpecFactory.BootsSystemd"/>); none does when null.</param>
    public EnginePool(
        IReadOnlyList<JobEngine> engines,
        JobQueue queue,
        RunningJobs running,
        IOptions<ServiceOptions> service,
        TimeProvider timeProvider,
        ILogger<EnginePool> logger,
        TimeSpan? drainAfter = null,
        Func<QueuedJob, bool>? bootsSystemd = null)
    {
        DrainAfter = drainAfter ?? DefaultDrainAfter;
        ArgumentNullException.ThrowIfNull(engines);
        if (engines.Count == 0)
        {
            throw new ArgumentException("The pool needs at least one engine.", nameof(engines));
        }

        Engines = engines;
        _queue = queue;
        _running = running;
        _service = service.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _bootsSystemd = bootsSystemd ?? (_ => false);
    }

    /// <summary>How long an engine may not answer before its running jobs are ended (<see cref="DefaultDrainAfter"/>).</summary>
    public TimeSpan DrainAfter { get; }

    /// <summary>The engines in configuration order.</summary>
    public IReadOnlyList<JobEngine> Engines { get; }

    /// <summary>Jobs the pool runs at once when every engine answers.</summary>
    public int Capacity => Engines.Sum(e => e.Capacity);

    /// <summary>Whether some engine would take <paramref name="job"/> now.</summary>
    public bool CanTake(QueuedJob job) => Takers(job).Any();

    /// <summary>The outage that holds every queued job: null while some engine answers.</summary>
    public EngineOutage? Outage => Engines.All(e => e.IsDown) ? Engines.Select(e => e.Monitor.Outage).OfType<EngineOutage>().MinBy(o => o.Since) : null;

    /// <summary>The engine by name, if the pool has it.</summary>
    public JobEngine? Find(string name) => Engines.FirstOrDefault(e => e.Name == name);

    /// <summary>
    /// Takes a slot for <paramref name="job"/> on the least busy engine that would take it (by share of its capacity in
    /// use, then configuration order); null when none would now.
    /// </summary>
    public JobEngine? Reserve(QueuedJob job)
    {
        foreach (JobEngine engine in Takers(job).OrderBy(e => (double)e.Running / e.Capacity))
        {
            if (engine.TryReserve())
            {
                return engine;
            }
        }

        return null;
    }

    /// <summary>
    /// Closes what each engine owns, and the clients of the engines after the first (the first is the service's own
    /// client, disposed with it).
    /// </summary>
    public void Dispose()
    {
        foreach (JobEngine engine in Engines)
        {
            foreach (IDisposable owned in engine.Owned)
            {
                owned.Dispose();
            }
        }

        foreach (JobEngine engine in Engines.Skip(1))
        {
            engine.Client.Dispose();
        }
    }

    /// <summary>
    /// The engines that would take <paramref name="job"/> now. A job that boots systemd passes over an engine whose
    /// start-up check found that it cannot, while another engine for the job's releases has not been found so (the job
    /// waits for that one, as for a busy engine); when every such engine cannot, it goes where it can and ends at once
    /// naming the requirement.
    /// </summary>
    private IEnumerable<JobEngine> Takers(QueuedJob job)
    {
        IEnumerable<JobEngine> free = Engines.Where(e => e.CanTake(job));
        if (!Engines.Any(CannotBootSystemd) || !_bootsSystemd(job)
            || !Engines.Any(e => !CannotBootSystemd(e) && e.Options.Takes(job.Releases)))
        {
            return free;
        }

        return free.Where(e => !CannotBootSystemd(e));
    }

    private static bool CannotBootSystemd(JobEngine engine) => engine.Systemd?.Last is { Works: false };

    /// <summary>Gives a job's slot back; a queued job waiting for one may take it.</summary>
    public void Release(JobEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        engine.Release();
        _queue.Wake();
    }

    /// <summary>Asks each engine every <see cref="CheckInterval"/> (with a backoff while it is down) until <paramref name="cancellationToken"/> ends.</summary>
    public Task WatchAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Engines.Select(e => WatchEngineAsync(e, cancellationToken)).Concat(Engines.Select(e => DrainWhenLostAsync(e, cancellationToken))));

    /// <summary>Ends the jobs on an engine that has not answered for <see cref="DrainAfter"/>; they are retried on an engine that answers.</summary>
    private async Task DrainWhenLostAsync(JobEngine engine, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(CheckInterval, _timeProvider, cancellationToken);
                if (engine.Monitor.Outage is { } outage && _timeProvider.GetUtcNow() - outage.Since >= DrainAfter && engine.Running > 0)
                {
                    string cause = $"engine {engine.Name} ({engine.Endpoint}) has not answered since {outage.Since.UtcDateTime:HH:mm:ss} UTC ({outage.Error})";
                    int drained = _running.CancelOnLostEngine(engine.Name, cause);
                    if (drained > 0)
                    {
                        LogDrained(drained, engine.Name, DrainAfter.TotalSeconds);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The dispatcher stops.
        }
    }

    private async Task WatchEngineAsync(JobEngine engine, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                bool wasDown = await engine.Monitor.WaitUntilAvailableAsync(cancellationToken);

                // Not ||: the flag is taken in either case, so one sweep answers both reasons.
                if (wasDown | engine.TakeSweepDue())
                {
                    await SweepAsync(engine, cancellationToken);
                }

                if (wasDown)
                {
                    _queue.Wake();
                }

                await Task.Delay(CheckInterval, _timeProvider, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The dispatcher stops.
        }
    }

    /// <summary>
    /// Removes this instance's containers on the engine that no running job of this process owns: a job that lost the
    /// engine could not remove its container, and a daemon restart may keep it. Failing here only leaves them to the next start.
    /// </summary>
    private async Task SweepAsync(JobEngine engine, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<ReapedContainer> reaped = await engine.Reaper.ReapAsync(
                _service.InstanceId, container => container.JobId is { } jobId && _running.Contains(jobId), cancellationToken);
            if (reaped.Count > 0)
            {
                LogSwept(reaped.Count, _service.InstanceId, engine.Name);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReapFailed(e, _service.InstanceId, engine.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ending {Count} jobs on engine {Engine}: it has not answered for {Seconds:F0} s; they are retried on an engine that answers")]
    private partial void LogDrained(int count, string engine, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for containers left by instance '{InstanceId}' on engine {Engine} (does it answer?)")]
    private partial void LogReapFailed(Exception exception, string instanceId, string engine);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} containers of instance '{InstanceId}' from engine {Engine} that no running job owns (left when the engine went away)")]
    private partial void LogSwept(int count, string instanceId, string engine);
}
