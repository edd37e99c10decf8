using CiRunner.Matrix;

namespace CiRunner.Tests.Matrix;

/// <summary>
/// The matrix of one trigger, table-driven. The releases are upstream's shape: zed, 2023.1 (SLURP), 2023.2,
/// 2024.1 (SLURP), 2024.2 (development, master). Each case lists the expected cell keys in order.
/// </summary>
public sealed class CellExpansionTests
{
    private static readonly Puppetfile _puppetfile = new("test.Puppetfile", null, []);

    private static readonly IReadOnlyList<Release> _releases =
    [
        Release("zed", 0, false, "unmaintained/zed"),
        Release("2023.1", 1, true, "unmaintained/2023.1"),
        Release("2023.2", 2, false, "2023.2-eol"),
        Release("2024.1", 3, true, "stable/2024.1"),
        Release("2024.2", 4, false, "master"),
    ];

    private static readonly TrackedModule _keystone = new("keystone", "/repos/keystone", [BranchPattern.Parse("master"), BranchPattern.Parse("stable/*"), BranchPattern.Parse("unmaintained/*")], null);

    private static readonly IReadOnlyList<Scenario> _scenarios =
    [
        Scenario("s1", upgrade: true),
        Scenario("noup", upgrade: false),
        Scenario("new", upgrade: true, releases: ["2024.1", "2024.2"]),
        Scenario("other", upgrade: true, modules: ["nova"]),
    ];

    public static TheoryData<string, string, MatrixRules, string[]> Cases => new()
    {
        {
            "a branch no release maps to has no cells", "stable/2099.1", MatrixRules.Empty, []
        },
        {
            "the oldest release has deploy cells only", "unmaintained/zed", MatrixRules.Empty, ["zed/s1", "zed/noup"]
        },
        {
            "an adjacent upgrade into the branch's release, for upgrade scenarios only", "unmaintained/2023.1", MatrixRules.Empty,
            ["2023.1/s1", "2023.1/noup", "zed->2023.1/s1:upgrade"]
        },
        {
            "a SLURP release also gets the skip-level path; a scenario must apply to both releases", "stable/2024.1", MatrixRules.Empty,
            ["2024.1/s1", "2024.1/noup", "2024.1/new", "2023.2->2024.1/s1:upgrade", "2023.1->2024.1/s1:upgrade"]
        },
        {
            "master: the development release, adjacent upgrade only (2024.2 is not SLURP)", "master", MatrixRules.Empty,
            ["2024.2/s1", "2024.2/noup", "2024.2/new", "2024.1->2024.2/s1:upgrade", "2024.1->2024.2/new:upgrade"]
        },
        {
            "Matrix:Rollback adds a rollback cell after each upgrade cell", "unmaintained/2023.1", Rules(rollback: true),
            ["2023.1/s1", "2023.1/noup", "zed->2023.1/s1:upgrade", "zed->2023.1/s1:rollback"]
        },
        {
            "a compatibility cell: master on the newest stable release", "master",
            Rules(compatibility: [new CompatibilityCell(BranchPattern.Parse("master"), "2024.1")]),
            ["2024.2/s1", "2024.2/noup", "2024.2/new", "2024.1/s1", "2024.1/noup", "2024.1/new", "2024.1->2024.2/s1:upgrade", "2024.1->2024.2/new:upgrade"]
        },
        {
            "a compatibility cell for another branch adds nothing", "stable/2024.1",
            Rules(compatibility: [new CompatibilityCell(BranchPattern.Parse("master"), "2023.1")]),
            ["2024.1/s1", "2024.1/noup", "2024.1/new", "2023.2->2024.1/s1:upgrade", "2023.1->2024.1/s1:upgrade"]
        },
        {
            "exclude by kind and wildcard release", "stable/2024.1",
            Rules(exclude: [new CellPattern(JobKind.Upgrade, "2024.*", "*.2", null), new CellPattern(null, null, null, "n*")]),
            ["2024.1/s1", "2023.1->2024.1/s1:upgrade"]
        },
        {
            "a FromRelease pattern never matches deploy cells", "unmaintained/2023.1",
            Rules(exclude: [new CellPattern(null, null, "*", null)]),
            ["2023.1/s1", "2023.1/noup"]
        },
        {
            "include after exclude brings a cell back and adds a new path", "stable/2024.1",
            Rules(
                exclude: [new CellPattern(JobKind.Upgrade, null, null, null)],
                include: [new CellPattern(JobKind.Upgrade, "2024.1", "2023.1", "s1"), new CellPattern(JobKind.Upgrade, "2024.1", "zed", "s1")]),
            ["2024.1/s1", "2024.1/noup", "2024.1/new", "2023.1->2024.1/s1:upgrade", "zed->2024.1/s1:upgrade"]
        },
        {
            "an include for another branch's release or an existing cell adds nothing", "unmaintained/2023.1",
            Rules(include: [new CellPattern(null, "2024.1", null, "s1"), new CellPattern(null, "2023.1", null, "s1")]),
            ["2023.1/s1", "2023.1/noup", "zed->2023.1/s1:upgrade"]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Expand_Trigger_GivesTheCellsInOrder(string because, string branch, MatrixRules rules, string[] expected)
    {
        IReadOnlyList<Cell> cells = CellExpansion.Expand(_keystone, branch, _releases, _scenarios, rules);

        Assert.True(expected.SequenceEqual(cells.Select(c => c.Key)), $"{because}: got {string.Join(", ", cells.Select(c => c.Key))}");
    }

    [Fact]
    public void Expand_ScenarioAsksForRollback_OnlyItsUpgradeCellsGetOne()
    {
        Scenario[] scenarios = [Scenario("s1", upgrade: true), Scenario("s2", upgrade: true) with { Rollback = true }];

        IReadOnlyList<Cell> cells = CellExpansion.Expand(_keystone, "unmaintained/2023.1", _releases, scenarios, MatrixRules.Empty);

        Assert.Equal(["2023.1/s1", "2023.1/s2", "zed->2023.1/s1:upgrade", "zed->2023.1/s2:upgrade", "zed->2023.1/s2:rollback"], cells.Select(c => c.Key));
    }

    [Fact]
    public void Expand_ParsedOnlyScenario_GetsNoCellsEvenWhenIncluded()
    {
        Scenario[] scenarios = [Scenario("s1", upgrade: true), Scenario("ceph", upgrade: true) with { ParsedOnly = ["ceph: OSDs need block devices"] }];

        IReadOnlyList<Cell> cells = CellExpansion.Expand(_keystone, "unmaintained/2023.1", _releases, scenarios,
            Rules(include: [new CellPattern(JobKind.Deploy, "2023.1", null, "ceph")]));

        Assert.Equal(["2023.1/s1", "zed->2023.1/s1:upgrade"], cells.Select(c => c.Key));
    }

    [Fact]
    public void Expand_UntrackedBranch_HasNoCellsWhateverTheRules()
    {
        var module = _keystone with { Branches = [BranchPattern.Parse("master")] };

        IReadOnlyList<Cell> cells = CellExpansion.Expand(module, "stable/2024.1", _releases, _scenarios,
            Rules(include: [new CellPattern(null, "2024.1", null, "s1")]));

        Assert.Empty(cells);
    }

    [Theory]
    [InlineData("zed", new string[0])]
    [InlineData("2023.1", new[] { "zed" })]
    [InlineData("2023.2", new[] { "2023.1" })]
    [InlineData("2024.1", new[] { "2023.2", "2023.1" })]
    [InlineData("2024.2", new[] { "2024.1" })]
    public void UpgradeSources_Release_AdjacentThenSkipLevel(string target, string[] expected)
    {
        Release release = _releases.Single(r => r.Name == target);

        Assert.Equal(expected, CellExpansion.UpgradeSources(release, _releases).Select(r => r.Name));
    }

    [Fact]
    public void UpgradeSources_AdjacentSlurpReleases_NoDuplicatePath()
    {
        Release[] releases = [Release("2024.1", 0, true, "stable/2024.1"), Release("2025.1", 1, true, "stable/2025.1")];

        Assert.Equal(["2024.1"], CellExpansion.UpgradeSources(releases[1], releases).Select(r => r.Name));
    }

    [Theory]
    [InlineData(null, null, null, null, true)]
    [InlineData("upgrade", null, null, null, true)]
    [InlineData("deploy", null, null, null, false)]
    [InlineData(null, "2024.*", "2023.1", "s*", true)]
    [InlineData(null, "2025.*", null, null, false)]
    [InlineData(null, null, "zed", null, false)]
    public void CellPattern_Matches_EachGivenFieldMustMatch(string? kind, string? release, string? fromRelease, string? scenario, bool expected)
    {
        var pattern = new CellPattern(kind is null ? null : Enum.Parse<JobKind>(kind, ignoreCase: true), release, fromRelease, scenario);

        Assert.Equal(expected, pattern.Matches(new Cell(JobKind.Upgrade, "2024.1", "2023.1", "s1")));
    }

    private static MatrixRules Rules(
        CellPattern[]? include = null, CellPattern[]? exclude = null, CompatibilityCell[]? compatibility = null, bool rollback = false) =>
        new(include ?? [], exclude ?? [], compatibility ?? [], rollback);

    private static Release Release(string name, int order, bool slurp, string branch) =>
        new(name, order, [branch], $"cirunner/release:{name}", slurp, _puppetfile, []);

    private static Scenario Scenario(string name, bool upgrade, string[]? releases = null, string[]? modules = null) =>
        new(name, "", $"/scenarios/{name}.yaml", $"/scenarios/{name}.pp", modules ?? ["keystone"], releases ?? [], [], upgrade);
}
