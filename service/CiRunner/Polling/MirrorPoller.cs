using CiRunner.Matrix;
using CiRunner.Results;

namespace CiRunner.Polling;

/// <summary>
/// Change detection, without git or a database: whether the remote's refs differ from the mirror's (so a poll must
/// fetch), and, given the refs a mirror holds after a poll and the poll state stored before it, which heads are
/// new. Every ref the result names is then stored, so the next poll (or the next process) compares against it.
/// </summary>
public static class MirrorPoller
{
    public const string ChangeRefPrefix = "refs/changes/";

    private const string BranchRefPrefix = "refs/heads/";

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

    /// <summary>
    /// Whether a poll must fetch to see what the remote holds: a tracked branch is new on the remote, gone from it or
    /// at another commit than in the mirror, or, for a module that fetches patch sets, a patch-set ref is new or gone.
    /// Untracked branches and Gerrit's <c>meta</c> refs change nothing a poll reports, so they never cost a fetch;
    /// they lag in the mirror until the next one (a manual trigger always fetches).
    /// </summary>
    /// <param name="module">The module, for its tracked branch patterns and whether it fetches patch sets.</param>
    /// <param name="remoteRefs">The remote's refs by full name (<c>refs/heads/master</c>) to commit ids, as its ls lists them.</param>
    /// <param name="mirror">What the mirror holds.</param>
    public static bool MustFetch(TrackedModule module, IReadOnlyDictionary<string, string> remoteRefs, MirrorRefs mirror)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(remoteRefs);
        ArgumentNullException.ThrowIfNull(mirror);

        var remoteBranches = new Dictionary<string, string>(StringComparer.Ordinal);
        var remotePatchSets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string sha) in remoteRefs)
        {
            if (name.StartsWith(BranchRefPrefix, StringComparison.Ordinal) && module.Tracks(name[BranchRefPrefix.Length..]))
            {
                remoteBranches[name[BranchRefPrefix.Length..]] = sha;
            }
            else if (module.ChangeRefs && IsPatchSetRef(name))
            {
                remotePatchSets[name] = sha;
            }
        }

        return !SameRefs(remoteBranches, mirror.Branches.Where(b => module.Tracks(b.Key)))
            || (module.ChangeRefs && !SameRefs(remotePatchSets, mirror.ChangeRefs.Where(c => IsPatchSetRef(c.Key))));
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

    private static bool SameRefs(Dictionary<string, string> remote, IEnumerable<KeyValuePair<string, string>> mirror)
    {
        int count = 0;
        foreach ((string name, string sha) in mirror)
        {
            count++;
            if (!remote.TryGetValue(name, out string? remoteSha) || !string.Equals(sha, remoteSha, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return count == remote.Count;
    }
}
