using CiRunner.Configuration;
using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>
/// One engine of the pool with everything that works on it: its client, its monitor (does it answer), the executor
/// and image provisioning bound to it, its reaper, and its slots (<see cref="EngineOptions.Capacity"/> jobs at once).
/// </summary>
public sealed class JobEngine
{
    private int _running;

    // 1 when a job lost this engine: containers it may have left are looked for before its next start.
    private int _sweepDue;

    /// <param name="options">The engine's settings.</param>
    /// <param name="client">Its client.</param>
    /// <param name="monitor">Asks whether it answers.</param>
    /// <param name="executor">Runs jobs on it.</param>
    /// <param name="reaper">Removes what jobs left on it.</param>
    /// <param name="owned">What was made for this engine alone and goes with the pool (its image provisioning); not the client.</param>
    /// <param name="systemd">Whether it boots systemd in a container, which its executor reads too; null where nothing checks it.</param>
    public JobEngine(
        EngineOptions options, IDockerClient client, DockerEngineMonitor monitor, IJobExecutor executor, OrphanReaper reaper, IReadOnlyList<IDisposable>? owned = null, SystemdHostCheck? systemd = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Client = client;
        Monitor = monitor;
        Executor = executor;
        Reaper = reaper;
        Owned = owned ?? [];
        Systemd = systemd;
    }

    /// <summary>Disposed with the pool.</summary>
    internal IReadOnlyList<IDisposable> Owned { get; }

    public EngineOptions Options { get; }

    public string Name => Options.Name;

    public string Endpoint => Options.Endpoint;

    public int Capacity => Options.Capacity;

    public IDockerClient Client { get; }

    public DockerEngineMonitor Monitor { get; }

    public IJobExecutor Executor { get; }

    public OrphanReaper Reaper { get; }

    /// <summary>Its start-up check of booting systemd in a container; null where nothing checks it.</summary>
    public SystemdHostCheck? Systemd { get; }

    /// <summary>Jobs running on it now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Whether its last look found it down (an engine not asked yet counts as up, and is asked before a job starts there).</summary>
    public bool IsDown => Monitor.Outage is not null;

    /// <summary>Whether it would take <paramref name="job"/> now: answering, a free slot, and the job's releases allowed.</summary>
    public bool CanTake(QueuedJob job) => !IsDown && Running < Capacity && Options.Takes(job.Releases);

    /// <summary>Takes a slot; false when all are taken.</summary>
    public bool TryReserve()
    {
        while (true)
        {
            int running = Volatile.Read(ref _running);
            if (running >= Capacity)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _running, running + 1, running) == running)
            {
                return true;
            }
        }
    }

    /// <summary>Gives a slot back.</summary>
    public void Release() => Interlocked.Decrement(ref _running);

    /// <summary>A job lost the engine: counted as its error, and its leftovers are looked for before its next start.</summary>
    public void LetJobDown(string cause)
    {
        Monitor.RecordJobLost(cause);
        Interlocked.Exchange(ref _sweepDue, 1);
    }

    /// <summary>Whether a sweep is due (and takes the flag).</summary>
    public bool TakeSweepDue() => Interlocked.Exchange(ref _sweepDue, 0) == 1;
}
