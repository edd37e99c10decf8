using CiRunner.Configuration;
using CiRunner.Results;
using Docker.DotNet;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// What one instance does for the others sharing its database, while the dispatcher runs:
/// <list type="bullet">
/// <item>With PostgreSQL, it feeds this instance's queue from the shared one when the database announces a queued job
/// (a trigger's notification) and at least every <see cref="FeedInterval"/>: jobs any instance queued are offered here
/// too (whichever instance's start is recorded first runs it, the others find it no longer queued), and jobs another
/// instance superseded or cancelled leave the queue.</item>
/// <item>With PostgreSQL, it cancels this instance's running jobs that someone asked to cancel through another
/// instance's API.</item>
/// <item>On every store, it ends the jobs of instances whose check-ins stopped: a running job's lease is its
/// instance's check-in. Such an instance's containers are removed first, then its running jobs end
/// <c>interrupted</c> and their next attempts are queued, as a restarted instance does for its own.</item>
/// </list>
/// </summary>
public sealed partial class ClusterWatch
{
    /// <summary>How often the shared queue is read without a notification (one lost while the database was away).</summary>
    public static readonly TimeSpan FeedInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a lost instance's own engine may take to list and remove its containers.</summary>
    private static readonly TimeSpan ForeignEngineTimeout = TimeSpan.FromSeconds(30);

    private readonly JobStore _jobs;
    private readonly InstanceStore _instances;
    private readonly JobQueue _queue;
    private readonly EnginePool _pool;
    private readonly RunningJobs _running;
    private readonly ServiceOptions _service;
    private readonly bool _sharedQueue;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ClusterWatch> _logger;

    // Another instance's lease is judged on this instance's clock: the check-in it read last for it, and since when it
    // has read that same check-in with no failed read in between. So the machines' clocks need not agree, and after a
    // database outage (when nobody could check in) every instance has a whole SilentAfter to check in again.
    private readonly Dictionary<string, (DateTimeOffset CheckIn, DateTimeOffset Since)> _observed = new(StringComparer.Ordinal);

    // Lost instances whose containers are looked for again until a time: a create request the instance sent just
    // before it died can still land on its engine after the first removal (an engine under load, or just restarted).
    private readonly Dictionary<string, (InstanceRecord Lost, DateTimeOffset Until)> _reapAgain = new(StringComparer.Ordinal);

    /// <summary>How long after a lost instance's jobs are ended its containers are looked for again, at every watch.</summary>
    private static readonly TimeSpan LateContainerWindow = TimeSpan.FromMinutes(2);

    public ClusterWatch(
        JobStore jobs,
        InstanceStore instances,
        JobQueue queue,
        EnginePool pool,
        RunningJobs running,
        IOptions<ServiceOptions> service,
        CiRunnerSettings settings,
        TimeProvider timeProvider,
        ILogger<ClusterWatch> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _jobs = jobs;
        _instances = instances;
        _queue = queue;
        _pool = pool;
        _running = running;
        _service = service.Value;
        _sharedQueue = settings.Store.IsPostgreSql;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Feeds the queue and watches the other instances until <paramref name="cancellationToken"/> (the drain) ends it.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var announced = new SemaphoreSlim(0);
        Task listening = _sharedQueue ? ListenAsync(announced, cancellationToken) : Task.CompletedTask;
        TimeSpan pause = _sharedQueue ? FeedInterval : InstanceCheckIn.Interval;
        DateTimeOffset nextWatch = _timeProvider.GetUtcNow();
        try
        {
            while (true)
            {
                if (_sharedQueue)
                {
                    await GuardAsync(FeedOnceAsync, cancellationToken);
                    await GuardAsync(CancelRequestedAsync, cancellationToken);
                }

                if (_timeProvider.GetUtcNow() >= nextWatch)
                {
                    await GuardAsync(RecoverLostInstancesAsync, cancellationToken);
                    nextWatch = _timeProvider.GetUtcNow() + InstanceCheckIn.Interval;
                }

                await announced.WaitAsync(pause, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await listening;
    }

    // Listening only hastens the feed: if it fails for good, the timer still reads the queue every FeedInterval.
    private async Task ListenAsync(SemaphoreSlim announced, CancellationToken cancellationToken)
    {
        try
        {
            await _jobs.ListenForQueuedJobsAsync(() => Signal(announced), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogListenFailed(e.Message);
        }
    }

    // One pending wake-up is enough: the feed reads the whole queue.
    private static void Signal(SemaphoreSlim announced)
    {
        if (announced.CurrentCount == 0)
        {
            announced.Release();
        }
    }

    /// <summary>
    /// Makes this instance's queue hold what the shared queue holds. Read after the snapshot: a job this instance
    /// queued meanwhile was stored before it was queued, so it is never taken for one that left the store's queue.
    /// </summary>
    /// <returns>How many jobs were added and removed.</returns>
    public async Task<(int Added, int Removed)> FeedOnceAsync(CancellationToken cancellationToken)
    {
        var waitingHere = _queue.Snapshot().Select(job => job.JobId).ToHashSet();
        IReadOnlyList<JobRecord> queued = await _jobs.ListByStateAsync(JobState.Queued, cancellationToken);
        var stillQueued = queued.Select(job => job.Id).ToHashSet();

        int added = queued.Count(job => !_running.Contains(job.Id) && _queue.Enqueue(QueuedJob.For(job)));
        int removed = _queue.RemoveWhere(job => waitingHere.Contains(job.JobId) && !stillQueued.Contains(job.JobId)).Count;
        return (added, removed);
    }

    /// <summary>Cancels this instance's running jobs that were asked to cancel through another instance.</summary>
    /// <returns>How many it cancelled.</returns>
    public async Task<int> CancelRequestedAsync(CancellationToken cancellationToken)
    {
        int cancelled = 0;
        foreach (long jobId in await _jobs.ListCancelRequestsAsync(_service.InstanceId, cancellationToken))
        {
            if (_running.TryCancel(jobId))
            {
                LogCancelRequested(jobId);
                cancelled++;
            }
        }

        return cancelled;
    }

    /// <summary>
    /// Ends the running jobs of every other instance whose check-in has not moved for
    /// <see cref="InstanceRecord.SilentAfter"/> of this instance's watching, after removing its containers; the next
    /// attempts land in the shared queue. Two live instances may both try: the writes are serialised and the second
    /// finds nothing left running.
    /// </summary>
    /// <returns>The jobs ended.</returns>
    public async Task<int> RecoverLostInstancesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<InstanceRecord> instances;
        try
        {
            instances = await _instances.ListAsync(cancellationToken);
        }
        catch
        {
            _observed.Clear();
            throw;
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        var lostInstances = new List<InstanceRecord>();
        foreach (InstanceRecord instance in instances.Where(i => i.Id != _service.InstanceId))
        {
            if (!_observed.TryGetValue(instance.Id, out (DateTimeOffset CheckIn, DateTimeOffset Since) seen) || seen.CheckIn != instance.LastCheckInAt)
            {
                _observed[instance.Id] = (instance.LastCheckInAt, now);
            }
            else if (instance.RunningJobs > 0 && now - seen.Since >= InstanceRecord.SilentAfter)
            {
                lostInstances.Add(instance);
            }
        }

        await ReapLateContainersAsync(instances, now, cancellationToken);
        int ended = 0;
        foreach (InstanceRecord lost in lostInstances)
        {
            int reaped = await ReapAsync(lost, cancellationToken);
            _reapAgain[lost.Id] = (lost, now + LateContainerWindow);

            string summary = string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"Instance {lost.Id} ({lost.Host}, pid {lost.Pid}) stopped checking in at {lost.LastCheckInAt:yyyy-MM-dd HH:mm:ss}Z while this job ran; instance {_service.InstanceId} removed its container.");
            IReadOnlyList<JobCompletion> closed = await _jobs.FinishRunningOfAsync(
                lost.Id, new JobEnd(JobResult.Interrupted, summary) { MaxAttempts = _service.MaxAttempts }, cancellationToken);
            int retried = 0;
            foreach (JobCompletion completion in closed)
            {
                if (completion.Retry is { } retry && _queue.Enqueue(QueuedJob.For(retry)))
                {
                    retried++;
                }

                if (completion.BisectStep is { } step)
                {
                    _queue.Enqueue(QueuedJob.For(step));
                }
            }

            ended += closed.Count;
            LogInstanceLost(lost.Id, lost.LastCheckInAt, closed.Count, retried, reaped);
        }

        return ended;
    }

    /// <summary>Looks again for the containers of instances lost within <see cref="LateContainerWindow"/> that have not checked in since.</summary>
    private async Task ReapLateContainersAsync(IReadOnlyList<InstanceRecord> instances, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach ((string id, (InstanceRecord lost, DateTimeOffset until)) in _reapAgain.ToList())
        {
            InstanceRecord? current = instances.FirstOrDefault(i => i.Id == id);
            if (now >= until || current is null || current.LastCheckInAt != lost.LastCheckInAt)
            {
                // Over, gone from the store, or back (it cleans up after itself at its start).
                _reapAgain.Remove(id);
                continue;
            }

            int reaped = await ReapAsync(lost, cancellationToken);
            if (reaped > 0)
            {
                LogLateContainersReaped(id, reaped);
            }
        }
    }

    /// <summary>
    /// Removes the lost instance's containers from this instance's engines and from the lost instance's own (its
    /// check-ins name them), reached with this instance's TLS client certificate for a <c>tcp://</c> engine: one PKI
    /// for a CI's engines. An engine that does not answer keeps them; the jobs still end, their lease is over.
    /// </summary>
    private async Task<int> ReapAsync(InstanceRecord lost, CancellationToken cancellationToken)
    {
        int reaped = 0;
        foreach (JobEngine engine in _pool.Engines)
        {
            reaped += await ReapOnAsync(engine.Reaper, lost.Id, engine.Endpoint, cancellationToken, cancellationToken);
        }

        string? certificates = _pool.Engines.Select(e => e.Options.TlsCertDirectory).FirstOrDefault(d => d is not null);
        IEnumerable<string> theirs = lost.Engines.Select(e => e.Endpoint).Append(lost.Engine).OfType<string>();
        foreach (string endpoint in theirs.Distinct(StringComparer.Ordinal).Where(e => _pool.Engines.All(own => own.Endpoint != e)))
        {
            try
            {
                var theirEngine = new EngineOptions
                {
                    Name = endpoint,
                    Endpoint = endpoint,
                    TlsCertDirectory = endpoint.StartsWith("tcp://", StringComparison.Ordinal) ? certificates : null,
                };
                using IDockerClient client = DockerClientFactory.Create(theirEngine);
                using var probe = new EngineProbe(theirEngine, client);
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bounded.CancelAfter(ForeignEngineTimeout);
                reaped += await ReapOnAsync(_pool.Engines[0].Reaper.On(probe, client), lost.Id, endpoint, bounded.Token, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReapFailed(lost.Id, endpoint, e.Message);
            }
        }

        return reaped;
    }

    // A timeout of the bounded token is the engine's failure, logged; the service's stop goes on up.
    private async Task<int> ReapOnAsync(OrphanReaper reaper, string instanceId, string engine, CancellationToken bounded, CancellationToken stopping)
    {
        try
        {
            return (await reaper.ReapAsync(instanceId, bounded)).Count;
        }
        catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            LogReapFailed(instanceId, engine, e.Message);
            return 0;
        }
    }

    private async Task GuardAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        try
        {
            await work(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A database that does not answer now is tried again at the next tick; it never stops the dispatcher.
            LogWatchFailed(e.Message);
        }
    }

    [LoggerMessage(EventId = 5030, Level = LogLevel.Warning, Message = "Instance {InstanceId} stopped checking in at {LastCheckIn:u}: {Jobs} of its running jobs ended interrupted ({Retried} queued again), {Containers} of its containers removed")]
    private partial void LogInstanceLost(string instanceId, DateTimeOffset lastCheckIn, int jobs, int retried, int containers);

    [LoggerMessage(EventId = 5035, Level = LogLevel.Warning, Message = "Removed {Containers} more containers of lost instance {InstanceId}: they appeared after its jobs were ended (create requests it sent before it stopped)")]
    private partial void LogLateContainersReaped(string instanceId, int containers);

    [LoggerMessage(EventId = 5031, Level = LogLevel.Warning, Message = "Could not remove the containers of lost instance {InstanceId} from {Engine} (does the engine answer?): {Error}")]
    private partial void LogReapFailed(string instanceId, string engine, string error);

    [LoggerMessage(EventId = 5033, Level = LogLevel.Warning, Message = "Listening for jobs queued by other instances stopped ({Error}); the shared queue is read every second instead")]
    private partial void LogListenFailed(string error);

    [LoggerMessage(EventId = 5034, Level = LogLevel.Information, Message = "Job {JobId} is cancelled: it was asked through another instance's API")]
    private partial void LogCancelRequested(long jobId);

    [LoggerMessage(EventId = 5032, Level = LogLevel.Warning, Message = "Watching the shared queue and the other instances failed ({Error}); trying again at the next tick")]
    private partial void LogWatchFailed(string error);
}
