namespace CiRunner.Model;

/// <summary>What triggered a run. Spelled as <see cref="WireNames"/> says.</summary>
public enum RunCause
{
    Commit,
    PatchSet,
    Nightly,
    Manual,
    Recheck,

    /// <summary>An exact re-run of one job from its lockfile (<c>cirunner replay</c>, the job page, the API).</summary>
    Replay,

    /// <summary>The search for the first bad commit of a cell that turned red: its jobs are the search's steps.</summary>
    Bisect,
}
