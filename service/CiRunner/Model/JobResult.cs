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
}

/// <summary>Where a job is in its life.</summary>
public enum JobState
{
    Queued,
    Running,
    Finished,
}
