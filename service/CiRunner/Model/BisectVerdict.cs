namespace CiRunner.Model;

/// <summary>How a bisect ended. Spelled as <see cref="WireNames"/> says.</summary>
public enum BisectVerdict
{
    /// <summary>The first bad commit was found.</summary>
    Culprit,

    /// <summary>The red job's lockfile passed when run again: the red was a flake, or came from outside the lockfile.</summary>
    NotReproducible,

    /// <summary>
    /// The good end failed too with everything else as in the red job: the red comes from another module that moved,
    /// not from the commits searched.
    /// </summary>
    NotInRange,

    /// <summary>The search used up <c>Bisect:MaxJobs</c> first; the summary names the commits it narrowed it to.</summary>
    Inconclusive,

    /// <summary>A step could not run (an image or commit gone, an infrastructure error); its summary says which.</summary>
    Error,

    /// <summary>A person cancelled a step (or the bisect's run).</summary>
    Cancelled,
}
