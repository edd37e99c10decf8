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
    public CancellationTokenSource Add(long jobId, CancellationToken stoppingToken)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        _running[jobId] = cancellation;
        return cancellation;
    }

    public void Remove(long jobId) => _running.TryRemove(jobId, out _);

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
