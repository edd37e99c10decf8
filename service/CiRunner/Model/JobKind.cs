namespace CiRunner.Model;

/// <summary>What a job's cell does. Spelled as <see cref="WireNames"/> says.</summary>
public enum JobKind
{
    /// <summary>Deploy one release with its module set.</summary>
    Deploy,

    /// <summary>Deploy the from-release, then upgrade to the release under test.</summary>
    Upgrade,

    /// <summary>An upgrade followed by a return to the from-release's module versions.</summary>
    Rollback,
}
