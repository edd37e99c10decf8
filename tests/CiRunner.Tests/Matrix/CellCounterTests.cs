using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Matrix;

public sealed class CellCounterTests
{
    [Fact]
    public void CountByModuleBranch_UsesTheFirstTrackedCandidatePerRelease()
    {
        // Given keystone tracking unmaintained/* and openstacklib not, basic on all releases and lib-only on 2024.x
        using var folder = new ConfigFolder();
        ConfigurationLoadResult result = folder.Load();
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        CiRunnerSettings settings = result.Settings;

        // When cells are counted
        IReadOnlyList<BranchCellCount> counts = CellCounter.CountByModuleBranch(settings.Modules, settings.Releases, settings.Scenarios);

        // Then each module's branches get the scenarios that need it on the releases mapped to them, and the upgrade
        // cells of basic (the only scenario with upgrade: true) into each release but the oldest
        Assert.Equal(
            [
                ("keystone", "unmaintained/zed", "zed", 1, 0),
                ("keystone", "unmaintained/2023.1", "2023.1", 1, 1),
                ("keystone", "stable/2024.1", "2024.1", 1, 1),
                ("keystone", "master", "2024.2", 1, 1),
                ("openstacklib", null, "zed, 2023.1", 0, 0),
                ("openstacklib", "stable/2024.1", "2024.1", 2, 1),
                ("openstacklib", "master", "2024.2", 2, 1),
            ],
            counts.Select(c => (c.Module, c.Branch, string.Join(", ", c.Releases), c.Deploy, c.Upgrade)));
        Assert.All(counts, c => Assert.Equal((0, 0, c.Deploy + c.Upgrade), (c.Rollback, c.Compatibility, c.Cells)));
    }

    [Fact]
    public void CountByModuleBranch_MatrixRules_CountsRollbackAndCompatibilityCellsAndAppliesExcludes()
    {
        // Given rollback cells, master on 2024.1 as compatibility cells, and no upgrade into 2024.1
        using var folder = new ConfigFolder();
        folder.Set("Matrix", System.Text.Json.Nodes.JsonNode.Parse("""
            {
              "Rollback": true,
              "CompatibilityCells": [ { "Branch": "master", "Release": "2024.1" } ],
              "Exclude": [ { "Kind": "upgrade", "Release": "2024.1" } ]
            }
            """));
        ConfigurationLoadResult result = folder.Load();
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        CiRunnerSettings settings = result.Settings;

        // When cells are counted with the rules
        IReadOnlyList<BranchCellCount> counts = CellCounter.CountByModuleBranch(settings.Modules, settings.Releases, settings.Scenarios, settings.Matrix);

        // Then every kind is counted as cirunner matrix lists them
        Assert.Equal(
            [
                ("unmaintained/zed", 1, 0, 0, 0),
                ("unmaintained/2023.1", 1, 1, 1, 0),
                ("stable/2024.1", 1, 0, 1, 0),
                ("master", 1, 1, 1, 1),
            ],
            counts.Where(c => c.Module == "keystone").Select(c => (c.Branch, c.Deploy, c.Upgrade, c.Rollback, c.Compatibility)));
        foreach (BranchCellCount count in counts.Where(c => c.Branch is not null))
        {
            TrackedModule module = settings.FindModule(count.Module)!;
            Assert.Equal(CellExpansion.Expand(module, count.Branch!, settings.Releases, settings.Scenarios, settings.Matrix).Count, count.Cells);
        }
    }

    [Fact]
    public void BranchFor_EolOnlyRelease_IsNullForBranchPatterns()
    {
        var module = new TrackedModule("keystone", "https://x", [BranchPattern.Parse("master"), BranchPattern.Parse("stable/*")], null);
        var release = new Release("2023.2", 0, ["2023.2-eol"], "img", false, new Puppetfile("p", null, []), []);

        Assert.Null(module.BranchFor(release));
    }
}
