namespace CiRunner.Polling;

/// <summary>What a poll found on one ref compared with the stored poll state.</summary>
public enum HeadChangeKind
{
    /// <summary>A tracked branch seen for the first time.</summary>
    NewBranch,

    /// <summary>A tracked branch moved forward.</summary>
    NewCommit,

    /// <summary>A tracked branch moved to a commit that does not contain its previous head.</summary>
    ForcePush,

    /// <summary>A Gerrit patch-set ref (<c>refs/changes/NN/CHANGE/PATCHSET</c>) seen for the first time.</summary>
    NewPatchSet,

    /// <summary>A tracked branch disappeared from the remote; recorded, never an error.</summary>
    Deleted,

    /// <summary>
    /// A head seen on a module's first poll: recorded without a run, so that adding a module does not start a
    /// run for every branch and patch set it already has (the nightly run covers existing branches).
    /// </summary>
    Baseline,
}

/// <summary>One change on a module's refs.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Ref">The branch name (<c>stable/2024.1</c>) or, for patch sets, the full change ref.</param>
/// <param name="PreviousSha">The head stored before this poll; null for new refs.</param>
/// <param name="CommitSha">The head now; for <see cref="HeadChangeKind.Deleted"/> the last head seen.</param>
public sealed record HeadChange(HeadChangeKind Kind, string Ref, string? PreviousSha, string CommitSha)
{
    /// <summary>Whether this change asks for a run.</summary>
    public bool Triggers => Kind is HeadChangeKind.NewBranch or HeadChangeKind.NewCommit or HeadChangeKind.ForcePush or HeadChangeKind.NewPatchSet;

    public bool IsPatchSet => Ref.StartsWith(MirrorPoller.ChangeRefPrefix, StringComparison.Ordinal);
}
