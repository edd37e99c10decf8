namespace CiRunner.Model;

/// <summary>How a job (or step) ended. Spelled as <see cref="WireNames"/> says.</summary>
public enum JobResult
{
    Success,

    /// <summary>The scenario failed: Puppet reported failures, changes on idempotency, or a command failed.</summary>
    Failure,

    /// <summary>Infrastructure broke (daemon, image, archive copy, disk); never reported as a test failure.</summary>
    Error,
    Timeout,
    Cancelled,
    Skipped,

    /// <summary>The service process died while the job ran.</summary>
    Interrupted,

    /// <summary>A newer head arrived before the job started.</summary>
    Superseded,

    /// <summary>
    /// The cell failed (or timed out), then passed when it ran again on the same lockfile (<c>Flakes:Reruns</c>): the
    /// result of the passing rerun. It passed, so it does not block a change; it is not a plain pass either, because
    /// the same commits failed once, and the flake ledger counts it.
    /// </summary>
    Flaky,
}

/// <summary>What results mean together.</summary>
public static class JobResults
{
    /// <summary>The cell's code passed: at once, or on a rerun of the same lockfile after a failure (<see cref="JobResult.Flaky"/>).</summary>
    public static bool Passed(this JobResult result) => result is JobResult.Success or JobResult.Flaky;
}

/// <summary>Where a job is in its life.</summary>
public enum JobState
{
    Queued,
    Running,
    Finished,
}
