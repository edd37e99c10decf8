namespace CiRunner.Execution;

/// <summary>What is known about a running job; read by the summary and cleanup on every path.</summary>
internal sealed class JobRun
{
    public JobRun(JobSpec job, ManagedContainer container, DateTimeOffset startedAt, long startedTimestamp)
    {
        Job = job;
        Container = container;
        StartedAt = startedAt;
        StartedTimestamp = startedTimestamp;
        TotalSteps = job.Phases.Sum(p => p.Steps.Count);
    }

    public JobSpec Job { get; }

    /// <summary>The job's container, from its create request to its removal.</summary>
    public ManagedContainer Container { get; }

    public DateTimeOffset StartedAt { get; }

    public long StartedTimestamp { get; }

    public int TotalSteps { get; }

    /// <summary>What the job is doing, for the summary of whatever ends it ("error while creating the container").</summary>
    public string Stage { get; set; } = "starting";

    public JobLog? Log { get; set; }

    public string? ImageId { get; set; }

    public string? ContainerId => Container.Id;

    /// <summary>The package snapshot the container mounts, once found.</summary>
    public PackageSnapshotInfo? Snapshot { get; set; }

    /// <summary>The exception that ended the job in an error, if one did.</summary>
    public Exception? Failure { get; set; }

    /// <summary>Why that error may not happen again (see <see cref="ManagedContainer.TransientCauseAsync"/>); null when it would.</summary>
    public string? TransientCause { get; set; }

    /// <summary>Which phases come from a snapshot and which are saved; decided before the container is created.</summary>
    public PhaseSnapshotPlan Plan { get; set; } = PhaseSnapshotPlan.None;

    /// <summary>The snapshot the job started from and the ones it made, in order.</summary>
    public List<PhaseSnapshot> PhaseSnapshots { get; } = [];

    public List<StepOutcome> Steps { get; } = [];

    public List<IdempotencyChange> Changes { get; } = [];

    /// <summary>An error's cause with the job's evidence (container, image, exit code, the log's last lines).</summary>
    public string Evidence(string cause, long? exitCode, int evidenceLines) =>
        JobSummaries.Evidence(cause, ContainerId, Job.Image, exitCode, Log?.Tail(evidenceLines) ?? []);
}

/// <summary>Cancellation sources of one job: the caller's, the job timeout's, and both linked.</summary>
internal sealed record JobTokens(CancellationToken External, CancellationToken JobTimeout, CancellationToken Job);
