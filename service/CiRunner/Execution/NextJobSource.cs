namespace CiRunner.Execution;

/// <summary>
/// Hands the dispatcher the next job to start and the engine it starts on, once it may start: an engine of the pool
/// answers with a free slot for the job's releases (an outage holds the queue rather than failing jobs), and every
/// start gate (free disk space, ...) is open.
/// </summary>
public sealed class NextJobSource
{
    private readonly JobQueue _queue;
    private readonly EnginePool _pool;
    private readonly IReadOnlyList<IJobStartGate> _startGates;
    private readonly PhaseSnapshotOrdering _ordering;

    public NextJobSource(JobQueue queue, EnginePool pool, IEnumerable<IJobStartGate> startGates, PhaseSnapshotOrdering ordering)
    {
        _ordering = ordering;
        _queue = queue;
        _pool = pool;
        _startGates = startGates.ToList();
    }

    /// <summary>The next job to start, with a slot on the engine it starts on (the caller gives it back through the pool).</summary>
    public async Task<(QueuedJob Job, JobEngine Engine)> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // A job that would start after a phase another running job of its run saves waits for it (its slot goes to others meanwhile).
            QueuedJob next = await _queue.DequeueAsync(job => _pool.CanTake(job) && !_ordering.Waits(job), WaitForStartGatesAsync, cancellationToken);
            if (_pool.Reserve(next) is not { } engine)
            {
                // Its engine went away between the look and the take: the job keeps its place at the front.
                _queue.PutBack(next);
                continue;
            }

            // An engine not asked for a while (or never) is asked now; one that went away keeps no job.
            bool available;
            try
            {
                available = await engine.Monitor.IsAvailableAsync(cancellationToken);
            }
            catch
            {
                _pool.Release(engine);
                _queue.PutBack(next);
                throw;
            }

            if (available)
            {
                _ordering.Started(next);
                return (next, engine);
            }

            _pool.Release(engine);
            _queue.PutBack(next);
        }
    }

    /// <summary>A job it handed out ended (called before its slot is given back, which wakes the queue).</summary>
    public void Ended(QueuedJob job) => _ordering.Ended(job);

    /// <summary>With a job waiting: until every start gate (free disk space, ...) lets it start.</summary>
    private async Task WaitForStartGatesAsync(CancellationToken cancellationToken)
    {
        foreach (IJobStartGate gate in _startGates)
        {
            await gate.WaitUntilOpenAsync(cancellationToken);
        }
    }
}
