using CiRunner.Matrix;
using CiRunner.Results;

namespace CiRunner.Polling;

/// <summary>
/// Change detection, without git or a database: given the refs a mirror holds after a fetch and the poll state
/// stored before it, which heads are new. Every ref the result names is then stored, so the next poll (or the
/// next process) compares against it.
/// </summary>
public static class MirrorPoller
{
    public const string ChangeRefPrefix = "refs/changes/";

    /// <param name="module">The module, for its tracked branch patterns.</param>
    /// <param name="branches">Branch heads in the mirror (short names to commit ids), tracked or not.</param>
    /// <param name="changeRefs">Patch-set refs in the mirror (full names to commit ids); empty unless the module fetches them.</param>
    /// <param name="stored">The module's stored heads, deleted ones included.</param>
    /// <param name="isAncestor">Whether the first commit is an ancestor of (or equal to) the second; false when unknown.</param>
    /// <param name="polledBefore">
    /// Whether a poll of the module succeeded before. Without stored heads and without an earlier success this is
    /// the module's first poll, whose heads are a <see cref="HeadChangeKind.Baseline"/>; a module that was polled
    /// while its remote had no tracked branch is not new, and its first branch starts a run.
    /// </param>
    /// <returns>The changes in ref-name order, branches first.</returns>
    public static IReadOnlyList<HeadChange> Detect(
        TrackedModule module,
        IReadOnlyDictionary<string, string> branches,
        IReadOnlyDictionary<string, string> changeRefs,
        IReadOnlyList<BranchHeadRecord> stored,
        Func<string, string, bool> isAncestor,
        bool polledBefore = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(branches);
        ArgumentNullException.ThrowIfNull(changeRefs);
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(isAncestor);

        bool firstPoll = stored.Count == 0 && !polledBefore;
        var known = stored.ToDictionary(s => s.Branch, StringComparer.Ordinal);
        var changes = new List<HeadChange>();

        foreach ((string branch, string sha) in branches.Where(b => module.Tracks(b.Key)).OrderBy(b => b.Key, StringComparer.Ordinal))
        {
            if (firstPoll)
            {
                changes.Add(new HeadChange(HeadChangeKind.Baseline, branch, null, sha));
            }
            else if (!known.TryGetValue(branch, out BranchHeadRecord? before) || before.DeletedAt is not null)
            {
                // A branch that was deleted and pushed again is new again, whatever its commit.
                changes.Add(new HeadChange(HeadChangeKind.NewBranch, branch, before?.CommitSha, sha));
            }
            else if (!string.Equals(before.CommitSha, sha, StringComparison.OrdinalIgnoreCase))
            {
                HeadChangeKind kind = isAncestor(before.CommitSha, sha) ? HeadChangeKind.NewCommit : HeadChangeKind.ForcePush;
                changes.Add(new HeadChange(kind, branch, before.CommitSha, sha));
            }
        }

        foreach (BranchHeadRecord before in stored.OrderBy(s => s.Branch, StringComparer.Ordinal))
        {
            if (before.DeletedAt is null && !IsChangeRef(before.Branch) && module.Tracks(before.Branch) && !branches.ContainsKey(before.Branch))
            {
                changes.Add(new HeadChange(HeadChangeKind.Deleted, before.Branch, before.CommitSha, before.CommitSha));
            }
        }

        // Patch-set refs never move; a new one is a new patch set. Gerrit's refs/changes/NN/CHANGE/meta (NoteDb
        // review data) is not code and is skipped.
        foreach ((string changeRef, string sha) in changeRefs.Where(c => IsPatchSetRef(c.Key) && !known.ContainsKey(c.Key)).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            changes.Add(new HeadChange(firstPoll ? HeadChangeKind.Baseline : HeadChangeKind.NewPatchSet, changeRef, null, sha));
        }

        return changes;
    }

    public static bool IsChangeRef(string name) => name.StartsWith(ChangeRefPrefix, StringComparison.Ordinal);

    /// <summary>Whether a ref is <c>refs/changes/NN/CHANGE/PATCHSET</c> with numbers in all three places.</summary>
    public static bool IsPatchSetRef(string name)
    {
        if (!IsChangeRef(name))
        {
            return false;
        }

        string[] parts = name[ChangeRefPrefix.Length..].Split('/');
        return parts.Length == 3 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit));
    }
}
