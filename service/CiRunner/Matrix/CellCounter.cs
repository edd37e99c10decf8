namespace CiRunner.Matrix;

/// <summary>How many release x scenario cells one branch of a module gets.</summary>
/// <param name="Module">Module name.</param>
/// <param name="Branch">The tracked branch, or null for releases none of whose candidates the module tracks.</param>
/// <param name="Releases">The releases tested on this branch, oldest first.</param>
/// <param name="Cells">Scenarios that need the module, summed over those releases they apply to.</param>
public sealed record BranchCellCount(string Module, string? Branch, IReadOnlyList<string> Releases, int Cells);

/// <summary>Counts cells per module and branch, before include/exclude rules and upgrade cells (the matrix stage adds those).</summary>
public static class CellCounter
{
    public static IReadOnlyList<BranchCellCount> CountByModuleBranch(
        IReadOnlyList<TrackedModule> modules,
        IReadOnlyList<Release> releases,
        IReadOnlyList<Scenario> scenarios)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(releases);
        ArgumentNullException.ThrowIfNull(scenarios);

        var counts = new List<BranchCellCount>();
        foreach (TrackedModule module in modules)
        {
            // Keyed by branch in first-seen (upgrade) order; a null branch collects the untracked releases.
            var byBranch = new List<(string? Branch, List<string> Releases, int Cells)>();
            foreach (Release release in releases)
            {
                string? branch = module.BranchFor(release);
                int cells = branch is null ? 0 : scenarios.Count(s => s.Needs(module.Name) && s.AppliesTo(release.Name));
                int index = byBranch.FindIndex(b => b.Branch == branch);
                if (index < 0)
                {
                    byBranch.Add((branch, [release.Name], cells));
                }
                else
                {
                    (string? Branch, List<string> Releases, int Cells) existing = byBranch[index];
                    existing.Releases.Add(release.Name);
                    byBranch[index] = (existing.Branch, existing.Releases, existing.Cells + cells);
                }
            }

            counts.AddRange(byBranch.Select(b => new BranchCellCount(module.Name, b.Branch, b.Releases, b.Cells)));
        }

        return counts;
    }
}
