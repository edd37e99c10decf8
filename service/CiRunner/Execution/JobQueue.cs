using CiRunner.Telemetry;

namespace CiRunner.Execution;

/// <summary>A job waiting for an executor slot.</summary>
/// <param name="RunId">The run the job belongs to.</param>
/// <param name="JobId">The job's database id.</param>
/// <param name="Priority">Higher priorities are dequeued first.</param>
public sealed record QueuedJob(long RunId, long JobId, JobPriority Priority)
{
    /// <summary>The releases the job runs on (an upgrade's both), which an engine restricted to some releases must have.</summary>
    public IReadOnlyList<string> Releases { get; init; } = [];

    /// <summary>The job's cell, which tells the cells whose phases it shares (<see cref="PhaseSnapshotOrdering"/>); null when unknown.</summary>
    public QueuedCell? Cell { get; init; }

    /// <summary>The queue entry of a stored job.</summary>
    public static QueuedJob For(Results.JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new QueuedJob(job.RunId, job.Id, job.Priority)
        {
            Releases = job.FromRelease is { } from ? [from, job.Release] : [job.Release],
            Cell = new QueuedCell(job.Kind, job.Release, job.FromRelease, job.Scenario),
        };
    }
}

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
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
            _telemetry.JobQueued();
            Pulse();
        }
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
            _telemetry.JobQueued();
            Pulse();
        }
    }

    /// <summary>Waits until a job is queued and takes the most urgent one.</summary>
    public Task<QueuedJob> DequeueAsync(CancellationToken cancellationToken) => DequeueAsync(canTake: null, beforeTaking: null, cancellationToken);

    /// <summary>As <see cref="DequeueAsync(Func{QueuedJob, bool}?, Func{CancellationToken, Task}?, CancellationToken)"/>, for any job.</summary>
    public Task<QueuedJob> DequeueAsync(Func<CancellationToken, Task>? beforeTaking, CancellationToken cancellationToken) =>
        DequeueAsync(canTake: null, beforeTaking, cancellationToken);

    /// <summary>
    /// Waits until a job that <paramref name="canTake"/> accepts is queued (an engine with a free slot for its
    /// releases), then for <paramref name="beforeTaking"/> (start gates), and only then takes the most urgent such job:
    /// while a gate holds, the jobs stay in the queue, in order and visible, and a more urgent job queued meanwhile is
    /// the one taken. A job nobody can take now does not hold back the ones behind it. <see cref="Wake"/> makes the
    /// wait ask <paramref name="canTake"/> again (a slot was freed, an engine came back).
    /// </summary>
    public async Task<QueuedJob> DequeueAsync(Func<QueuedJob, bool>? canTake, Func<CancellationToken, Task>? beforeTaking, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            bool candidate;
            lock (_lock)
            {
                // Taken under the lock that Enqueue pulses under, so no change between the look and the wait is missed.
                changed = _changed.Task;
                candidate = FirstTakeable(canTake) is not null;
            }

            if (!candidate)
            {
                await changed.WaitAsync(cancellationToken);
                continue;
            }

            if (beforeTaking is not null)
            {
                await beforeTaking(cancellationToken);
            }

            lock (_lock)
            {
                // A removal, or the gate's wait, may have changed what is takeable; then look again.
                if (FirstTakeable(canTake) is { } job)
                {
                    _queue.Remove(job, out _, out _);
                    _queuedIds.Remove(job.JobId);
                    _telemetry.JobDequeued();
                    return job;
                }
            }
        }
    }

    /// <summary>Makes waiting dequeues look at the queue again: what they can take may have changed.</summary>
    public void Wake()
    {
        lock (_lock)
        {
            Pulse();
        }
    }

    /// <summary>Called under the lock: completes the current change signal and starts the next.</summary>
    private void Pulse()
    {
        TaskCompletionSource changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    /// <summary>Called under the lock: the most urgent job <paramref name="canTake"/> accepts.</summary>
    private QueuedJob? FirstTakeable(Func<QueuedJob, bool>? canTake)
    {
        if (canTake is null)
        {
            return _queue.TryPeek(out QueuedJob? first, out _) ? first : null;
        }

        return _queue.UnorderedItems.OrderBy(item => item.Priority).Select(item => item.Element).FirstOrDefault(canTake);
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

    public void Dispose() => _changed.TrySetCanceled();

    /// <summary>The queue in dequeue order, for the dashboard and metrics.</summary>
    public IReadOnlyList<QueuedJob> Snapshot()
    {
        lock (_lock)
        {
            return _queue.UnorderedItems.OrderBy(item => item.Priority).Select(item => item.Element).ToList();
        }
    }
}
