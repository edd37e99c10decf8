namespace CiRunner.Model;

/// <summary>
/// Queue priority: a person waiting beats a patch set, which beats a branch commit, which beats the nightly run; a
/// bisect's steps run when nothing else waits.
/// </summary>
public enum JobPriority
{
    Bisect = -1,
    Nightly = 0,
    BranchCommit = 1,
    PatchSet = 2,
    Manual = 3,
}

public static class JobPriorities
{
    public static JobPriority For(RunCause cause) => cause switch
    {
        RunCause.Manual => JobPriority.Manual,
        RunCause.Replay => JobPriority.Manual,
        RunCause.Recheck => JobPriority.PatchSet,
        RunCause.PatchSet => JobPriority.PatchSet,
        RunCause.Commit => JobPriority.BranchCommit,
        RunCause.Nightly => JobPriority.Nightly,
        RunCause.Bisect => JobPriority.Bisect,
        _ => throw new ArgumentOutOfRangeException(nameof(cause), cause, "Unknown run cause."),
    };
}
