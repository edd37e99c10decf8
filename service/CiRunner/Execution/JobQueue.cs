using CiRunner.Telemetry;

namespace CiRunner.Execution;

/// <summary>A job waiting for an executor slot.</summary>
/// <param name="RunId">The run the job belongs to.</param>
/// <param name="JobId">The job's database id.</param>
/// <param name="Priority">Higher priorities are dequeued first.</param>
public sealed record QueuedJob(long RunId, long JobId, JobPriority Priority);

/// <summary>
/// The in-process queue between triggers and executors: highest priority first, first in first out within a
/// priority. The database remains the record of what is queued; this only orders the work of this process.
/// </summary>
public sealed class JobQueue : IDisposable
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<QueuedJob, (int Priority, long Sequence)> _queue = new();

    // A job is queued at most once: the launcher and the shared queue's feed (several instances) may both offer it.
    private readonly HashSet<long> _queuedIds = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly CiRunnerTelemetry _telemetry;
    private long _sequence;

    // Put-back jobs go before every job queued normally (whose sequence starts at 0).
    private long _frontSequence;

    public JobQueue(CiRunnerTelemetry telemetry)
    {
        _telemetry = telemetry;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <returns>False when the job was already waiting here (it is not queued twice).</returns>
    public bool Enqueue(QueuedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_lock)
        {
            if (!_queuedIds.Add(job.JobId))
            {
                return false;
            }

            // Negated priority: PriorityQueue dequeues the smallest key first.
            _queue.Enqueue(job, (-(int)job.Priority, _sequence++));
        }

        _telemetry.JobQueued();
        _available.Release();
        return true;
    }

    /// <summary>Whether the job is waiting here.</summary>
    public bool Contains(long jobId)
    {
        lock (_lock)
        {
            return _queuedIds.Contains(jobId);
        }
    }

    /// <summary>
    /// Returns a job the dispatcher took but could not start (the engine went away meanwhile) to the front of its
    /// priority, where it was.
    /// </summary>
    public void PutBack(QueuedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_lock)
        {
            if (!_queuedIds.Add(job.JobId))
            {
                return;
            }

            _queue.Enqueue(job, (-(int)job.Priority, --_frontSequence));
        }

        _telemetry.JobQueued();
        _available.Release();
    }

    /// <summary>Waits until a job is queued and takes the most urgent one.</summary>
    public Task<QueuedJob> DequeueAsync(CancellationToken cancellationToken) => DequeueAsync(beforeTaking: null, cancellationToken);

    /// <summary>
    /// Waits until a job is queued, then for <paramref name="beforeTaking"/> (start gates), and only then takes the most
    /// urgent job: while a gate holds, the jobs stay in the queue, in order and visible, and a more urgent job queued
    /// meanwhile is the one taken.
    /// </summary>
    public async Task<QueuedJob> DequeueAsync(Func<CancellationToken, Task>? beforeTaking, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _available.WaitAsync(cancellationToken);
            if (beforeTaking is not null)
            {
                try
                {
                    await beforeTaking(cancellationToken);
                }
                catch
                {
                    // The signal belongs to a job still in the queue.
                    _available.Release();
                    throw;
                }
            }

            lock (_lock)
            {
                // A removal may have taken the job this signal was for; then wait for the next one.
                if (_queue.TryDequeue(out QueuedJob? job, out _))
                {
                    _queuedIds.Remove(job.JobId);
                    _telemetry.JobDequeued();
                    return job;
                }
            }
        }
    }

    /// <summary>Takes every queued job that matches out of the queue (superseded or cancelled work) and returns them.</summary>
    public IReadOnlyList<QueuedJob> RemoveWhere(Func<QueuedJob, bool> predicate)
    {
        lock (_lock)
        {
            var kept = new List<(QueuedJob Job, (int, long) Key)>();
            var removed = new List<QueuedJob>();
            while (_queue.TryDequeue(out QueuedJob? job, out (int, long) key))
            {
                if (predicate(job))
                {
                    _queuedIds.Remove(job.JobId);
                    removed.Add(job);
                }
                else
                {
                    kept.Add((job, key));
                }
            }

            foreach ((QueuedJob job, (int, long) key) in kept)
            {
                _queue.Enqueue(job, key);
            }

            _telemetry.JobDequeued(removed.Count);
            return removed;
        }
    }

    public void Dispose() => _available.Dispose();

    /// <summary>The queue in dequeue order, for the dashboard and metrics.</summary>
    public IReadOnlyList<QueuedJob> Snapshot()
    {
        lock (_lock)
        {
            return _queue.UnorderedItems.OrderBy(item => item.Priority).Select(item => item.Element).ToList();
        }
    }
}
