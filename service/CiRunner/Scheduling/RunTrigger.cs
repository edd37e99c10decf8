namespace CiRunner.Scheduling;

/// <summary>Something that asks for a run: a new head, the nightly timer, a person, a recheck.</summary>
/// <param name="Cause">Why the run happens; also sets its jobs' queue priority.</param>
/// <param name="Module">The module under test.</param>
/// <param name="Branch">The branch the commit belongs to (a patch set's target branch).</param>
/// <param name="CommitSha">The commit under test.</param>
/// <param name="ChangeRef">A Gerrit change ref for patch sets; null for branch heads.</param>
/// <param name="RequestedBy">Who asked, for manual runs.</param>
/// <param name="HeadRef">For the poller: the ref whose new head starts the run; stored with the run (see <see cref="Results.NewRun.HeadRef"/>).</param>
public sealed record RunTrigger(
    RunCause Cause,
    string Module,
    string Branch,
    string CommitSha,
    string? ChangeRef = null,
    string? RequestedBy = null,
    string? HeadRef = null)
{
    /// <summary>With <see cref="HeadRef"/>: the generation of the head the poller compared with (see <see cref="Results.NewRun.SeenGeneration"/>).</summary>
    public long SeenGeneration { get; init; }
}
