namespace CiRunner.Results;

// Rows as Dapper reads them: the database's own types (text times, lower-case enums, 64-bit integers), each with
// its select list and the conversion to the public record. Keeping the text formats here, not in the records,
// means no global Dapper type handler is needed.

internal sealed class RunRow
{
    public const string Columns = """
        runs.id AS Id, runs.cause AS Cause, runs.module AS Module, runs.branch AS Branch, runs.commit_sha AS CommitSha,
        runs.change_ref AS ChangeRef, runs.patch_set AS PatchSet, runs.requested_by AS RequestedBy,
        runs.created_at AS CreatedAt, runs.started_at AS StartedAt, runs.finished_at AS FinishedAt, runs.result AS Result,
        runs.trace_parent AS TraceParent
        """;

    public long Id { get; set; }

    public string Cause { get; set; } = "";

    public string Module { get; set; } = "";

    public string Branch { get; set; } = "";

    public string CommitSha { get; set; } = "";

    public string? ChangeRef { get; set; }

    public long? PatchSet { get; set; }

    public string? RequestedBy { get; set; }

    public string CreatedAt { get; set; } = "";

    public string? StartedAt { get; set; }

    public string? FinishedAt { get; set; }

    public string? Result { get; set; }

    public string? TraceParent { get; set; }

    public RunRecord ToRecord() => new(
        Id,
        DbValue.Parse<RunCause>(Cause),
        Module,
        Branch,
        CommitSha,
        ChangeRef,
        PatchSet is { } patchSet ? checked((int)patchSet) : null,
        RequestedBy,
        DbValue.ParseTime(CreatedAt),
        DbValue.ParseOptionalTime(StartedAt),
        DbValue.ParseOptionalTime(FinishedAt),
        DbValue.ParseOptional<JobResult>(Result))
    {
        TraceParent = TraceParent,
    };
}

/// <summary>The job counts beside a run in lists; Dapper splits the row at <c>JobCount</c>.</summary>
internal sealed class RunCountsRow
{
    // Each cell once: an attempt that a later one retries is history, not a job of the run's result.
    public const string Columns =
        "(SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.id AND " + JobRow.LatestAttempt + ") AS JobCount, " +
        "(SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.id AND jobs.result IN ('success', 'flaky') AND " + JobRow.LatestAttempt + ") AS PassedCount";

    public const string SplitOn = "JobCount";

    public long JobCount { get; set; }

    public long PassedCount { get; set; }
}

internal sealed class JobRow
{
    public const string Columns = """
        jobs.id AS Id, jobs.run_id AS RunId, jobs.cell_key AS CellKey, jobs.kind AS Kind, jobs.release AS Release,
        jobs.from_release AS FromRelease, jobs.scenario AS Scenario, jobs.priority AS Priority, jobs.state AS State,
        jobs.result AS Result, jobs.summary AS Summary, jobs.image_id AS ImageId, jobs.queued_at AS QueuedAt,
        jobs.started_at AS StartedAt, jobs.finished_at AS FinishedAt, jobs.duration_ms AS DurationMs,
        jobs.log_path AS LogPath, jobs.attempt AS Attempt, jobs.retry_of AS RetryOf, jobs.pruned_at AS PrunedAt,
        jobs.package_snapshot_release AS PackageSnapshotRelease, jobs.package_snapshot_volume AS PackageSnapshotVolume,
        jobs.package_snapshot_id AS PackageSnapshotId, jobs.package_snapshot_packages AS PackageSnapshotPackages,
        jobs.instance_id AS InstanceId, jobs.engine AS Engine, jobs.replay_of AS ReplayOf,
        jobs.rerun_of AS RerunOf, jobs.failure_signature AS FailureSignature
        """;

    /// <summary>A condition on <c>jobs</c>: no later attempt retries this job, so it is its cell's latest.</summary>
    public const string LatestAttempt = "NOT EXISTS (SELECT 1 FROM jobs AS retry WHERE retry.retry_of = jobs.id)";

    public long Id { get; set; }

    public long RunId { get; set; }

    public string CellKey { get; set; } = "";

    public string Kind { get; set; } = "";

    public string Release { get; set; } = "";

    public string? FromRelease { get; set; }

    public string Scenario { get; set; } = "";

    public long Priority { get; set; }

    public string State { get; set; } = "";

    public string? Result { get; set; }

    public string? Summary { get; set; }

    public string? ImageId { get; set; }

    public string QueuedAt { get; set; } = "";

    public string? StartedAt { get; set; }

    public string? FinishedAt { get; set; }

    public long? DurationMs { get; set; }

    public string? LogPath { get; set; }

    public long Attempt { get; set; }

    public long? RetryOf { get; set; }

    public string? PrunedAt { get; set; }

    public string? PackageSnapshotRelease { get; set; }

    public string? PackageSnapshotVolume { get; set; }

    public string? PackageSnapshotId { get; set; }

    public long? PackageSnapshotPackages { get; set; }

    public string? InstanceId { get; set; }

    public string? Engine { get; set; }

    public long? ReplayOf { get; set; }

    public long? RerunOf { get; set; }

    public string? FailureSignature { get; set; }

    public JobRecord ToRecord() => new(
        Id,
        RunId,
        CellKey,
        DbValue.Parse<JobKind>(Kind),
        Release,
        FromRelease,
        Scenario,
        (JobPriority)checked((int)Priority),
        DbValue.Parse<JobState>(State),
        DbValue.ParseOptional<JobResult>(Result),
        Summary,
        ImageId,
        DbValue.ParseTime(QueuedAt),
        DbValue.ParseOptionalTime(StartedAt),
        DbValue.ParseOptionalTime(FinishedAt),
        DbValue.Duration(DurationMs),
        LogPath,
        checked((int)Attempt),
        RetryOf,
        DbValue.ParseOptionalTime(PrunedAt))
    {
        PackageSnapshot = PackageSnapshotRelease is { } release && PackageSnapshotVolume is { } volume && PackageSnapshotId is { } id && PackageSnapshotPackages is { } packages
            ? new JobPackageSnapshotRecord(release, volume, id, checked((int)packages))
            : null,
        InstanceId = InstanceId,
        Engine = Engine,
        ReplayOf = ReplayOf,
        RerunOf = RerunOf,
        FailureSignature = FailureSignature,
    };
}

internal sealed class StepRow
{
    public const string Columns = """
        steps.id AS Id, steps.job_id AS JobId, steps.ordinal AS Ordinal, steps.phase AS Phase, steps.name AS Name,
        steps.kind AS Kind, steps.started_at AS StartedAt, steps.finished_at AS FinishedAt,
        steps.duration_ms AS DurationMs, steps.exit_code AS ExitCode, steps.result AS Result
        """;

    public long Id { get; set; }

    public long JobId { get; set; }

    public long Ordinal { get; set; }

    public string Phase { get; set; } = "";

    public string Name { get; set; } = "";

    public string Kind { get; set; } = "";

    public string StartedAt { get; set; } = "";

    public string FinishedAt { get; set; } = "";

    public long DurationMs { get; set; }

    public long? ExitCode { get; set; }

    public string Result { get; set; } = "";

    public StepRecord ToRecord() => new(
        Id,
        JobId,
        checked((int)Ordinal),
        Phase,
        Name,
        DbValue.Parse<StepKind>(Kind),
        DbValue.ParseTime(StartedAt),
        DbValue.ParseTime(FinishedAt),
        TimeSpan.FromMilliseconds(DurationMs),
        ExitCode is { } exitCode ? checked((int)exitCode) : null,
        DbValue.Parse<JobResult>(Result));
}

internal sealed class IdempotencyChangeRow
{
    public const string Columns = """
        idempotency_changes.id AS Id, idempotency_changes.job_id AS JobId, idempotency_changes.step_id AS StepId,
        idempotency_changes.resource_type AS ResourceType, idempotency_changes.title AS Title,
        idempotency_changes.property AS Property, idempotency_changes.previous_value AS PreviousValue,
        idempotency_changes.desired_value AS DesiredValue, idempotency_changes.module AS Module,
        idempotency_changes.manifest_file AS ManifestFile, idempotency_changes.line AS Line
        """;

    public long Id { get; set; }

    public long JobId { get; set; }

    public long StepId { get; set; }

    public string ResourceType { get; set; } = "";

    public string Title { get; set; } = "";

    public string Property { get; set; } = "";

    public string? PreviousValue { get; set; }

    public string? DesiredValue { get; set; }

    public string? Module { get; set; }

    public string? ManifestFile { get; set; }

    public long? Line { get; set; }

    public IdempotencyChangeRecord ToRecord() => new(
        Id,
        JobId,
        StepId,
        ResourceType,
        Title,
        Property,
        PreviousValue,
        DesiredValue,
        Module,
        ManifestFile,
        Line is { } line ? checked((int)line) : null);
}

internal sealed class TempestTestRow
{
    public const string Columns = """
        tempest_tests.id AS Id, tempest_tests.job_id AS JobId, tempest_tests.step_id AS StepId, tempest_tests.phase AS Phase,
        tempest_tests.step_ordinal AS StepOrdinal, tempest_tests.test_id AS TestId, tempest_tests.class_name AS ClassName,
        tempest_tests.status AS Status, tempest_tests.duration_ms AS DurationMs, tempest_tests.traceback AS Traceback,
        tempest_tests.skip_reason AS SkipReason
        """;

    public long Id { get; set; }

    public long JobId { get; set; }

    public long StepId { get; set; }

    public string Phase { get; set; } = "";

    public long StepOrdinal { get; set; }

    public string TestId { get; set; } = "";

    public string ClassName { get; set; } = "";

    public string Status { get; set; } = "";

    public long DurationMs { get; set; }

    public string? Traceback { get; set; }

    public string? SkipReason { get; set; }

    public TempestTestRecord ToRecord() => new(
        Id,
        JobId,
        StepId,
        Phase,
        checked((int)StepOrdinal),
        TestId,
        ClassName,
        DbValue.Parse<TempestTestStatus>(Status),
        TimeSpan.FromMilliseconds(DurationMs),
        Traceback,
        SkipReason);
}

internal sealed class JobModuleRow
{
    public const string Columns = """
        job_modules.module AS Module, job_modules.git_url AS GitUrl, job_modules.ref AS Ref, job_modules.commit_sha AS CommitSha,
        job_modules.phase AS Phase
        """;

    public string Module { get; set; } = "";

    public string GitUrl { get; set; } = "";

    public string? Ref { get; set; }

    public string CommitSha { get; set; } = "";

    public string Phase { get; set; } = "";

    public JobModuleRecord ToRecord() => new(Module, GitUrl, Ref, CommitSha, Phase);
}

internal sealed class BranchHeadRow
{
    public const string Columns = """
        branch_heads.module AS Module, branch_heads.branch AS Branch, branch_heads.commit_sha AS CommitSha,
        branch_heads.updated_at AS UpdatedAt, branch_heads.deleted_at AS DeletedAt, branch_heads.generation AS Generation
        """;

    public string Module { get; set; } = "";

    public string Branch { get; set; } = "";

    public string CommitSha { get; set; } = "";

    public string UpdatedAt { get; set; } = "";

    public string? DeletedAt { get; set; }

    public long Generation { get; set; }

    public BranchHeadRecord ToRecord() => new(Module, Branch, CommitSha, DbValue.ParseTime(UpdatedAt), DbValue.ParseOptionalTime(DeletedAt)) { Generation = Generation };
}

internal sealed class CellResultRow
{
    public const string Columns = """
        cell_results.module AS Module, cell_results.branch AS Branch, cell_results.cell_key AS CellKey,
        cell_results.job_id AS JobId, cell_results.result AS Result, cell_results.commit_sha AS CommitSha,
        cell_results.finished_at AS FinishedAt
        """;

    public string Module { get; set; } = "";

    public string Branch { get; set; } = "";

    public string CellKey { get; set; } = "";

    public long JobId { get; set; }

    public string Result { get; set; } = "";

    public string CommitSha { get; set; } = "";

    public string FinishedAt { get; set; } = "";

    public CellResultRecord ToRecord() => new(Module, Branch, CellKey, JobId, DbValue.Parse<JobResult>(Result), CommitSha, DbValue.ParseTime(FinishedAt));
}

/// <summary>A row of <c>job_phase_snapshots</c>.</summary>
internal sealed class PhaseSnapshotRow
{
    public string Phase { get; set; } = "";

    public string Role { get; set; } = "";

    public string ImageId { get; set; } = "";

    public string Key { get; set; } = "";

    public long SourceRunId { get; set; }

    public long SourceJobId { get; set; }
}
