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

        // Then each module's branches get the scenarios that need it on the releases mapped to them
        Assert.Equal(
            [
                ("keystone", "unmaintained/zed", "zed", 1),
                ("keystone", "unmaintained/2023.1", "2023.1", 1),
                ("keystone", "stable/2024.1", "2024.1", 1),
                ("keystone", "master", "2024.2", 1),
                ("openstacklib", null, "zed, 2023.1", 0),
                ("openstacklib", "stable/2024.1", "2024.1", 2),
                ("openstacklib", "master", "2024.2", 2),
            ],
            counts.Select(c => (c.Module, c.Branch, string.Join(", ", c.Releases), c.Cells)));
    }

    [Fact]
    public void BranchFor_EolOnlyRelease_IsNullForBranchPatterns()
    {
        var module = new TrackedModule("keystone", "https://x", [BranchPattern.Parse("master"), BranchPattern.Parse("stable/*")], null);
        var release = new Release("2023.2", 0, ["2023.2-eol"], "img", false, new Puppetfile("p", null, []), []);

        Assert.Null(module.BranchFor(release));
    }
}
