namespace CiRunner.Results;

/// <summary>A run to create: what triggered it and which commit it tests.</summary>
/// <param name="Cause">What triggered the run.</param>
/// <param name="Module">Short name of the module under test (<c>keystone</c>).</param>
/// <param name="Branch">Branch the commit belongs to (<c>stable/2024.1</c>).</param>
/// <param name="CommitSha">The commit under test.</param>
/// <param name="ChangeRef">Gerrit <c>refs/changes/NN/CHANGE/PATCHSET</c> for patch set and recheck runs; null for branch commits.</param>
/// <param name="PatchSet">The Gerrit patch set number, with <paramref name="ChangeRef"/>.</param>
/// <param name="RequestedBy">Who asked for a manual or recheck run.</param>
/// <param name="HeadRef">
/// For runs the poller starts: the ref (branch or patch-set ref) whose new head this is. The head is stored with the
/// run in one transaction, so a poll that fails right after (a locked database) neither loses nor repeats the run.
/// </param>
public sealed record NewRun(
    RunCause Cause,
    string Module,
    string Branch,
    string CommitSha,
    string? ChangeRef = null,
    int? PatchSet = null,
    string? RequestedBy = null,
    string? HeadRef = null)
{
    /// <summary>The W3C traceparent of the run's root span, when one was recorded.</summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// With <see cref="HeadRef"/>: the generation of the head the poller compared with (<see cref="BranchHeadRecord.Generation"/>,
    /// 0 for a ref never seen). The run claims the next one; when another instance already did, the store throws
    /// <see cref="HeadAlreadyStartedException"/> and keeps nothing of this run.
    /// </summary>
    public long SeenGeneration { get; init; }
}

/// <summary>A stored run. <see cref="Result"/> is set when its last job finishes.</summary>
public sealed record RunRecord(
    long Id,
    RunCause Cause,
    string Module,
    string Branch,
    string CommitSha,
    string? ChangeRef,
    int? PatchSet,
    string? RequestedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    JobResult? Result)
{
    /// <summary>The W3C traceparent of the run's root span; its jobs' spans are its children. Null when none was recorded.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>A run in a list, with how many of its cells passed (the latest attempt of each cell counts).</summary>
/// <param name="Run">The run.</param>
/// <param name="JobCount">Its jobs, one per cell: retried attempts are not counted.</param>
/// <param name="PassedCount">Of those, the ones that finished with <see cref="JobResult.Success"/>.</param>
public sealed record RunSummary(RunRecord Run, int JobCount, int PassedCount);

/// <summary>A run with its jobs in queue order, every attempt included.</summary>
public sealed record RunDetail(RunRecord Run, IReadOnlyList<JobRecord> Jobs)
{
    /// <summary>
    /// The latest attempt of each cell: the jobs no other job retries. A run's result and counts are made of these;
    /// earlier attempts (interrupted, or ended by a transient error) stay listed as history.
    /// </summary>
    public IReadOnlyList<JobRecord> LatestAttempts()
    {
        var retried = Jobs.Where(j => j.RetryOf is not null).Select(j => j.RetryOf!.Value).ToHashSet();
        return Jobs.Where(j => !retried.Contains(j.Id)).ToList();
    }
}
