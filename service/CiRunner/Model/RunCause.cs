namespace CiRunner.Model;

/// <summary>What triggered a run. Stored in lower case.</summary>
public enum RunCause
{
    Commit,
    PatchSet,
    Nightly,
    Manual,
    Recheck,
}
