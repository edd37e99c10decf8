namespace CiRunner.Execution;

/// <summary>What a start gate says now: open (jobs may start) or holding them, with a line for people either way.</summary>
/// <param name="Name">Short name, the key in <c>/healthz</c> (<c>disk</c>).</param>
/// <param name="Open">Whether jobs may start.</param>
/// <param name="Detail">While open, how things stand (<c>2048 MiB free ...</c>); while holding, why jobs wait and how that ends.</param>
public sealed record JobStartGateStatus(string Name, bool Open, string Detail);

/// <summary>
/// A condition every job waits for before it starts (free disk space, say). The dispatcher awaits all gates with a job
/// waiting in the queue and takes the job only once they are open, so held jobs stay queued, in order, and visible;
/// <c>/queue</c>, <c>/api/queue</c> and <c>/healthz</c> show why they wait.
/// </summary>
public interface IJobStartGate
{
    /// <summary>The gate now; cheap enough for every page view and probe.</summary>
    JobStartGateStatus Check();

    /// <summary>Returns once the gate is open; while it is not, re-checks on a bounded interval.</summary>
    Task WaitUntilOpenAsync(CancellationToken cancellationToken);
}
