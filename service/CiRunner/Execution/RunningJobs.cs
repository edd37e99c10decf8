using System.Collections.Concurrent;

namespace CiRunner.Execution;

/// <summary>
/// The jobs this process runs now, each with a cancellation of its own so the API can cancel one job without
/// stopping the others, and the service's drain: once it begins no job starts, and running ones have
/// <c>Service:DrainTimeout</c> before the stop cancels them.
/// </summary>
public sealed class RunningJobs : IDisposable
{
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();

    // The engine each job runs on, and why the jobs the pool took off a lost engine were cancelled.
    private readonly ConcurrentDictionary<long, string> _engines = new();
    private readonly ConcurrentDictionary<long, string> _engineLost = new();
    private readonly CancellationTokenSource _draining = new();
    private readonly TimeProvider _timeProvider;
    private long _drainStarted;

    public RunningJobs(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
    }

    /// <summary>How many jobs this process is running now.</summary>
    public int Count => _running.Count;

    /// <summary>The service is stopping: nothing new starts, and running jobs have the drain time to finish.</summary>
    public bool IsDraining => _draining.IsCancellationRequested;

    /// <summary>Cancelled when the drain begins.</summary>
    public CancellationToken Draining => _draining.Token;

    /// <summary>How long ago the drain began; null before it does.</summary>
    public TimeSpan? SinceDrainBegan
    {
        get
        {
            long started = Interlocked.Read(ref _drainStarted);
            return started == 0 ? null : _timeProvider.GetElapsedTime(started);
        }
    }

    /// <summary>Whether this process runs the job.</summary>
    public bool Contains(long jobId) => _running.ContainsKey(jobId);

    /// <summary>
    /// Registers a job as running; the cancellation it returns ends with <paramref name="stoppingToken"/> or with
    /// <see cref="TryCancel"/>. The caller disposes it after <see cref="Remove"/>.
    /// </summary>
    public CancellationTokenSource Add(long jobId, CancellationToken stoppingToken) => Add(jobId, engine: null, stoppingToken);

    /// <summary>As <see cref="Add(long, CancellationToken)"/>, for a job on <paramref name="engine"/> of the pool.</summary>
    public CancellationTokenSource Add(long jobId, string? engine, CancellationToken stoppingToken) =>
        TryAdd(jobId, engine, stoppingToken) ?? throw new InvalidOperationException($"Job {jobId} is already running in this process.");

    /// <summary>As <see cref="Add(long, string?, CancellationToken)"/>; null when the job is already running here (nothing changes then).</summary>
    public CancellationTokenSource? TryAdd(long jobId, string? engine, CancellationToken stoppingToken)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        if (!_running.TryAdd(jobId, cancellation))
        {
            cancellation.Dispose();
            return null;
        }

        if (engine is not null)
        {
            _engines[jobId] = engine;
        }

        return cancellation;
    }

    public void Remove(long jobId)
    {
        _running.TryRemove(jobId, out _);
        _engines.TryRemove(jobId, out _);
        _engineLost.TryRemove(jobId, out _);
    }

    /// <summary>
    /// Cancels every job running on <paramref name="engine"/>, which stopped answering: each ends in an error that names
    /// <paramref name="cause"/> (transient: <see cref="EngineLostCause"/>), not as cancelled. Returns how many.
    /// </summary>
    public int CancelOnLostEngine(string engine, string cause)
    {
        int cancelled = 0;
        foreach ((long jobId, string on) in _engines)
        {
            if (on == engine && _engineLost.TryAdd(jobId, cause) && _running.TryGetValue(jobId, out CancellationTokenSource? cancellation))
            {
                // On the thread pool: a request stuck on the lost engine may hold up its cancellation callback, and
                // the other jobs on that engine must not wait for it.
                _ = Task.Run(() => TryCancel(jobId));
                cancelled++;
            }
        }

        return cancelled;
    }

    /// <summary>Why the job was taken off its engine (<see cref="CancelOnLostEngine"/>); null when it was not.</summary>
    public string? EngineLostCause(long jobId) => _engineLost.TryGetValue(jobId, out string? cause) ? cause : null;

    /// <summary>
    /// Cancels a running job: its container is killed and it ends as cancelled. False when this process is not
    /// running the job (queued jobs are cancelled in the store and the queue instead).
    /// </summary>
    public bool TryCancel(long jobId)
    {
        if (!_running.TryGetValue(jobId, out CancellationTokenSource? cancellation))
        {
            return false;
        }

        try
        {
            cancellation.Cancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            // The job ended between the lookup and the cancel.
            return false;
        }
    }

    /// <summary>Begins the drain: no job starts after it.</summary>
    public Task BeginDrainAsync()
    {
        Interlocked.Exchange(ref _drainStarted, _timeProvider.GetTimestamp());
        return _draining.CancelAsync();
    }

    public void Dispose() => _draining.Dispose();
}
