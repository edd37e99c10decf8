namespace CiRunner.Model;

/// <summary>What triggered a run. Spelled as <see cref="WireNames"/> says.</summary>
public enum RunCause
{
    Commit,
    PatchSet,
    Nightly,
    Manual,
    Recheck,
}
