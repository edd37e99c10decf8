using CiRunner.Configuration;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>A queued job's cell: what it runs, for the cells that share its phases.</summary>
public sealed record QueuedCell(JobKind Kind, string Release, string? FromRelease, string Scenario);

/// <summary>
/// Orders the cells of a run that share phases, so that the first makes the phase snapshots the others start from:
/// an upgrade or rollback job waits while a job of its run is running that saves a phase it would start after (a
/// deploy job of its from-release and scenario; an upgrade or rollback job of the same path and scenario). Only a
/// running job holds another back, so nothing waits for long, no two jobs wait for each other, and unrelated cells
/// (other runs, scenarios, paths) take the free slots meanwhile. Across runs nothing waits: a phase saved already is
/// simply not run again (<see cref="PhaseSnapshotter"/>).
/// </summary>
public sealed class PhaseSnapshotOrdering
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, QueuedJob> _running = [];
    private readonly bool _enabled;

    public PhaseSnapshotOrdering(IOptions<SnapshotOptions> snapshots)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        _enabled = snapshots.Value.Enabled;
    }

    /// <summary>The job started.</summary>
    public void Started(QueuedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_lock)
        {
            _running[job.JobId] = job;
        }
    }

    /// <summary>The job ended (before its slot is given back, which wakes the queue).</summary>
    public void Ended(QueuedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_lock)
        {
            _running.Remove(job.JobId);
        }
    }

    /// <summary>Whether <paramref name="job"/> should wait for a running job that saves a phase it would start after.</summary>
    public bool Waits(QueuedJob job) => WaitsFor(job) is not null;

    /// <summary>The running job <paramref name="job"/> waits for (see <see cref="Waits"/>), or null.</summary>
    public long? WaitsFor(QueuedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_enabled || job.Cell is not { Kind: JobKind.Upgrade or JobKind.Rollback, FromRelease: { } from } cell)
        {
            return null;
        }

        lock (_lock)
        {
            return _running.Values.FirstOrDefault(running => running.RunId == job.RunId && running.Cell is { } other && other.Scenario == cell.Scenario
                && (other.Kind == JobKind.Deploy
                    ? other.Release == from
                    : other.FromRelease == from && other.Release == cell.Release))?.JobId;
        }
    }
}
