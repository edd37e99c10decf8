using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;

namespace CiRunner.Tests.Polling;

public sealed class MirrorPollerTests
{
    private static readonly DateTimeOffset Seen = new(2025, 4, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TrackedModule Keystone = new("keystone", "/srv/git/keystone", [BranchPattern.Parse("master"), BranchPattern.Parse("stable/*")], null);
    private static readonly Dictionary<string, string> NoChangeRefs = [];

    [Fact]
    public void Detect_FirstPoll_RecordsEveryTrackedHeadWithoutTriggering()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1", ["stable/2024.1"] = "b1", ["feature/x"] = "c1" };

        IReadOnlyList<HeadChange> changes = MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [], AlwaysAncestor);

        Assert.Equal(
            [new HeadChange(HeadChangeKind.Baseline, "master", null, "a1"), new HeadChange(HeadChangeKind.Baseline, "stable/2024.1", null, "b1")],
            changes);
        Assert.DoesNotContain(changes, c => c.Triggers);
    }

    [Fact]
    public void Detect_NoStoredHeadsButPolledBefore_TriggersForTheFirstBranch()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1" };

        HeadChange change = Assert.Single(MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [], AlwaysAncestor, polledBefore: true));

        Assert.Equal(HeadChangeKind.NewBranch, change.Kind);
    }

    [Fact]
    public void Detect_UnchangedHeads_FindsNothing()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1" };

        IReadOnlyList<HeadChange> changes = MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [Head("master", "a1")], AlwaysAncestor);

        Assert.Empty(changes);
    }

    [Fact]
    public void Detect_BranchMovedForward_IsANewCommit()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a2" };

        HeadChange change = Assert.Single(MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [Head("master", "a1")], AlwaysAncestor));

        Assert.Equal(new HeadChange(HeadChangeKind.NewCommit, "master", "a1", "a2"), change);
        Assert.True(change.Triggers);
    }

    [Fact]
    public void Detect_NewHeadWithoutTheOldOne_IsAForcePush()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a2" };

        HeadChange change = Assert.Single(MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [Head("master", "a1")], (_, _) => false));

        Assert.Equal(HeadChangeKind.ForcePush, change.Kind);
        Assert.True(change.Triggers);
    }

    [Fact]
    public void Detect_NewBranchMatchingAPattern_IsANewBranch_AndAnUntrackedOneIsIgnored()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1", ["stable/2025.1"] = "a1", ["bugfix/1"] = "z9" };

        HeadChange change = Assert.Single(MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [Head("master", "a1")], AlwaysAncestor));

        Assert.Equal(new HeadChange(HeadChangeKind.NewBranch, "stable/2025.1", null, "a1"), change);
    }

    [Fact]
    public void Detect_BranchGone_IsRecordedAsDeletedOnce()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1" };
        BranchHeadRecord[] stored = [Head("master", "a1"), Head("stable/2023.1", "b1"), Head("stable/2022.2", "c1", deleted: true)];

        HeadChange change = Assert.Single(MirrorPoller.Detect(Keystone, branches, NoChangeRefs, stored, AlwaysAncestor));

        Assert.Equal(new HeadChange(HeadChangeKind.Deleted, "stable/2023.1", "b1", "b1"), change);
        Assert.False(change.Triggers);
    }

    [Fact]
    public void Detect_DeletedBranchPushedAgain_IsANewBranchEvenAtTheSameCommit()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1", ["stable/2023.1"] = "b1" };

        HeadChange change = Assert.Single(MirrorPoller.Detect(Keystone, branches, NoChangeRefs, [Head("master", "a1"), Head("stable/2023.1", "b1", deleted: true)], AlwaysAncestor));

        Assert.Equal(HeadChangeKind.NewBranch, change.Kind);
    }

    [Fact]
    public void Detect_NewPatchSetRefs_TriggerOnce_AndNoteDbMetaIsSkipped()
    {
        var branches = new Dictionary<string, string> { ["master"] = "a1" };
        var changeRefs = new Dictionary<string, string>
        {
            ["refs/changes/45/12345/1"] = "p1",
            ["refs/changes/45/12345/2"] = "p2",
            ["refs/changes/45/12345/meta"] = "m1",
        };

        IReadOnlyList<HeadChange> changes = MirrorPoller.Detect(Keystone, branches, changeRefs, [Head("master", "a1"), Head("refs/changes/45/12345/1", "p1")], AlwaysAncestor);

        HeadChange change = Assert.Single(changes);
        Assert.Equal(new HeadChange(HeadChangeKind.NewPatchSet, "refs/changes/45/12345/2", null, "p2"), change);
        Assert.True(change.IsPatchSet);
    }

    [Theory]
    [InlineData("refs/changes/45/12345/2", true)]
    [InlineData("refs/changes/45/12345/meta", false)]
    [InlineData("refs/changes/45/12345", false)]
    [InlineData("refs/heads/master", false)]
    public void IsPatchSetRef_ChangeRefShapes(string name, bool expected) => Assert.Equal(expected, MirrorPoller.IsPatchSetRef(name));

    [Theory]
    [InlineData("the same tracked heads", false)]
    [InlineData("an untracked branch moved", false)]
    [InlineData("an untracked branch is new", false)]
    [InlineData("a tracked branch moved", true)]
    [InlineData("a tracked branch is new", true)]
    [InlineData("a tracked branch is gone", true)]
    public void MustFetch_OnlyWhenATrackedBranchDiffersFromTheMirror(string remoteState, bool expected)
    {
        var mirror = new MirrorRefs(new Dictionary<string, string> { ["master"] = "a1", ["stable/2024.1"] = "b1", ["feature/x"] = "c1" }, NoChangeRefs);
        var remote = new Dictionary<string, string> { ["HEAD"] = "a1", ["refs/heads/master"] = "a1", ["refs/heads/stable/2024.1"] = "b1", ["refs/heads/feature/x"] = "c1", ["refs/tags/1.0.0"] = "t1" };
        switch (remoteState)
        {
            case "an untracked branch moved": remote["refs/heads/feature/x"] = "c2"; break;
            case "an untracked branch is new": remote["refs/heads/feature/y"] = "d1"; break;
            case "a tracked branch moved": remote["refs/heads/master"] = "a2"; break;
            case "a tracked branch is new": remote["refs/heads/stable/2024.2"] = "a1"; break;
            case "a tracked branch is gone": remote.Remove("refs/heads/stable/2024.1"); break;
        }

        Assert.Equal(expected, MirrorPoller.MustFetch(Keystone, remote, mirror));
    }

    [Theory]
    [InlineData(true, "refs/changes/45/12345/2", true)]
    [InlineData(false, "refs/changes/45/12345/2", false)]
    [InlineData(true, "refs/changes/45/12345/meta", false)]
    public void MustFetch_ChangeRefs_ANewPatchSetOnlyWhenTheModuleFetchesThem_NoteDbMetaNever(bool changeRefs, string newRef, bool expected)
    {
        TrackedModule module = Keystone with { ChangeRefs = changeRefs };
        var held = new Dictionary<string, string> { ["refs/changes/45/12345/1"] = "p1", ["refs/changes/45/12345/meta"] = "m1" };
        var mirror = new MirrorRefs(new Dictionary<string, string> { ["master"] = "a1" }, held);
        var remote = new Dictionary<string, string> { ["refs/heads/master"] = "a1", ["refs/changes/45/12345/1"] = "p1", ["refs/changes/45/12345/meta"] = "m2", [newRef] = "p2" };

        Assert.Equal(expected, MirrorPoller.MustFetch(module, remote, mirror));
    }

    [Fact]
    public void MustFetch_PatchSetGoneFromTheRemote_Fetches()
    {
        TrackedModule module = Keystone with { ChangeRefs = true };
        var mirror = new MirrorRefs(new Dictionary<string, string> { ["master"] = "a1" }, new Dictionary<string, string> { ["refs/changes/45/12345/1"] = "p1" });

        Assert.True(MirrorPoller.MustFetch(module, new Dictionary<string, string> { ["refs/heads/master"] = "a1" }, mirror));
    }

    private static bool AlwaysAncestor(string ancestor, string descendant) => true;

    private static BranchHeadRecord Head(string branch, string sha, bool deleted = false) =>
        new("keystone", branch, sha, Seen, deleted ? Seen : null);
}
