namespace CiRunner.Results;

/// <summary>A job to queue with its run: one matrix cell.</summary>
/// <param name="CellKey">The cell's stable key (<c>zed/scenario001</c>, <c>2023.1-&gt;2024.1/scenario001:upgrade</c>).</param>
/// <param name="Kind">Deploy, upgrade or rollback.</param>
/// <param name="Release">The release deployed, or upgraded to.</param>
/// <param name="FromRelease">The release upgraded from; null for deploy cells.</param>
/// <param name="Scenario">Scenario name.</param>
/// <param name="Priority">Higher runs first.</param>
/// <param name="Attempt">1 for the first try of the cell in this run.</param>
public sealed record NewJob(
    string CellKey,
    JobKind Kind,
    string Release,
    string? FromRelease,
    string Scenario,
    JobPriority Priority = JobPriority.Nightly,
    int Attempt = 1)
{
    /// <summary>For a replay: the job whose lockfile this job runs again; null for a cell of the matrix.</summary>
    public long? ReplayOf { get; init; }

    /// <summary>For a flake rerun (<c>Flakes:Reruns</c>): the failed job of the same cell whose lockfile this attempt runs again.</summary>
    public long? RerunOf { get; init; }
}

/// <summary>
/// A stored job. <see cref="LogPath"/> is absolute or relative to the data directory, null until the job starts;
/// <see cref="Duration"/> runs from start to finish and is null when the job never started. <see cref="RetryOf"/>
/// is the job of the same run and cell whose interrupted or transient end this attempt repeats (null for a
/// cell's first attempt). <see cref="PrunedAt"/> is when retention removed its log and details
/// (<c>Retention:MaxAge</c>); null while they are kept.
/// </summary>
public sealed record JobRecord(
    long Id,
    long RunId,
    string CellKey,
    JobKind Kind,
    string Release,
    string? FromRelease,
    string Scenario,
    JobPriority Priority,
    JobState State,
    JobResult? Result,
    string? Summary,
    string? ImageId,
    DateTimeOffset QueuedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    TimeSpan? Duration,
    string? LogPath,
    int Attempt,
    long? RetryOf = null,
    DateTimeOffset? PrunedAt = null)
{
    /// <summary>The package snapshot the job's node moved onto (part of its lockfile); null when it used none.</summary>
    public JobPackageSnapshotRecord? PackageSnapshot { get; init; }

    /// <summary>The serving instance (<c>Service:InstanceId</c>) that started it; null for <c>cirunner run</c>'s jobs and jobs not yet started.</summary>
    public string? InstanceId { get; init; }

    /// <summary>The engine of that instance's pool it ran on (its name in <c>Docker:Engines</c>); null when not recorded.</summary>
    public string? Engine { get; init; }

    /// <summary>The job whose lockfile this job ran again (<c>cirunner replay</c>); null for a cell of the matrix.</summary>
    public long? ReplayOf { get; init; }

    /// <summary>
    /// A flake rerun's failed job: the earlier attempt of the same cell whose lockfile this attempt ran again
    /// (<c>Flakes:Reruns</c>); null for any other attempt. Its retries keep it.
    /// </summary>
    public long? RerunOf { get; init; }

    /// <summary>
    /// Why a job that did not pass failed, in a form equal across runs (<see cref="FailureSignature"/>): the failing
    /// step and its first error line with ids, numbers and times taken out. Null for a job that passed or never ran a step.
    /// </summary>
    public string? FailureSignature { get; init; }
}

/// <summary>The package snapshot a job used, as its lockfile keeps it.</summary>
/// <param name="Release">The release whose image the snapshot was frozen from (an upgrade job's target).</param>
/// <param name="Volume">The Docker volume that held it.</param>
/// <param name="Id"><c>sha256:</c> and the hash of its package list and upgrade script: equal ids, equal packages.</param>
/// <param name="PackageCount">How many packages it holds.</param>
public sealed record JobPackageSnapshotRecord(string Release, string Volume, string Id, int PackageCount)
{
    /// <summary>How <c>show</c> and the job page say it: <c>2024.2 sha256:abcd... (558 packages)</c>.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Release} {Id} ({PackageCount} packages)");
}

/// <summary>A job with everything it recorded: its module lockfile, steps in order, idempotency changes and Tempest tests.</summary>
public sealed record JobDetail(
    JobRecord Job,
    IReadOnlyList<JobModuleRecord> Modules,
    IReadOnlyList<StepRecord> Steps,
    IReadOnlyList<IdempotencyChangeRecord> Changes)
{
    /// <summary>Every test its tempest steps ran, by step, failed tests first, then by test id.</summary>
    public IReadOnlyList<TempestTestRecord> TempestTests { get; init; } = [];

    /// <summary>The phase snapshot the job started from, and the ones it made, in phase order.</summary>
    public IReadOnlyList<PhaseSnapshot> PhaseSnapshots { get; init; } = [];

    /// <summary>The snapshot a step's phase came from (the step did not run in this job), or null when it ran here.</summary>
    public PhaseSnapshot? SnapshotOf(StepRecord step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return PhaseSnapshots.FirstOrDefault(s => s.Role == PhaseSnapshot.Used && PhaseNames.Order(step.Phase) <= PhaseNames.Order(s.Phase));
    }
}

/// <summary>What finishing a job did.</summary>
/// <param name="Job">The job as now stored.</param>
/// <param name="CompletedRun">The run, when this was its last unfinished job (the same transaction asked for its reports); otherwise null.</param>
/// <param name="Retry">
/// The cell's next attempt, queued in the same transaction (same run, attempt + 1), when the job's end asked for
/// one and attempts were left; the caller queues it. The run cannot finish while a retry is pending.
/// </param>
public sealed record JobCompletion(JobRecord Job, RunRecord? CompletedRun, JobRecord? Retry = null)
{
    /// <summary>The bisect's next step, queued in the same transaction when the job was a step of one; the caller queues it.</summary>
    public JobRecord? BisectStep { get; init; }

    /// <summary>The bisect this job's step ended, with its verdict; null otherwise.</summary>
    public BisectRecord? BisectEnded { get; init; }

    /// <summary>The job turned its cell from passed to red and asked for a bisect (the service's bisect starter takes it).</summary>
    public bool BisectRequested { get; init; }
}

/// <summary>One module a job installed, pinned to the commit it resolved to.</summary>
/// <param name="Module">Puppetfile name (<c>keystone</c>, <c>stdlib</c>).</param>
/// <param name="GitUrl">Where it came from.</param>
/// <param name="Ref">The branch, tag or ref the Puppetfile asked for; null for the remote's default branch.</param>
/// <param name="CommitSha">The commit installed.</param>
/// <param name="Phase">The job phase that installed it (<c>deploy</c>, <c>upgrade</c>, <c>rollback</c>): upgrade jobs have a module set per phase.</param>
public sealed record JobModuleRecord(string Module, string GitUrl, string? Ref, string CommitSha, string Phase = PhaseNames.Deploy);
