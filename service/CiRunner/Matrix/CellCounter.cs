namespace CiRunner.Matrix;

/// <summary>How many cells of each kind a commit on one branch of a module runs.</summary>
/// <param name="Module">Module name.</param>
/// <param name="Branch">The tracked branch, or null for releases none of whose candidates the module tracks.</param>
/// <param name="Releases">The releases the branch maps to, oldest first.</param>
/// <param name="Deploy">Deploy cells on those releases.</param>
/// <param name="Upgrade">Upgrade cells into those releases (adjacent and SLURP skip-level).</param>
/// <param name="Rollback">Rollback cells.</param>
/// <param name="Compatibility">Deploy cells on other releases (<c>Matrix:CompatibilityCells</c>, or an include rule).</param>
public sealed record BranchCellCount(string Module, string? Branch, IReadOnlyList<string> Releases, int Deploy, int Upgrade = 0, int Rollback = 0, int Compatibility = 0)
{
    /// <summary>Every cell of the branch.</summary>
    public int Cells => Deploy + Upgrade + Rollback + Compatibility;
}

/// <summary>Counts the cells per module and branch that <see cref="CellExpansion.Expand"/> gives, rules included.</summary>
public static class CellCounter
{
    public static IReadOnlyList<BranchCellCount> CountByModuleBranch(
        IReadOnlyList<TrackedModule> modules,
        IReadOnlyList<Release> releases,
        IReadOnlyList<Scenario> scenarios,
        MatrixRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(releases);
        ArgumentNullException.ThrowIfNull(scenarios);
        rules ??= MatrixRules.Empty;

        var counts = new List<BranchCellCount>();
        foreach (TrackedModule module in modules)
        {
            // Branches in first-seen (upgrade) order; a null branch collects the untracked releases.
            var byBranch = new List<(string? Branch, List<string> Releases)>();
            foreach (Release release in releases)
            {
                string? branch = module.BranchFor(release);
                int index = byBranch.FindIndex(b => b.Branch == branch);
                if (index < 0)
                {
                    byBranch.Add((branch, [release.Name]));
                }
                else
                {
                    byBranch[index].Releases.Add(release.Name);
                }
            }

            foreach ((string? branch, List<string> branchReleases) in byBranch)
            {
                if (branch is null)
                {
                    counts.Add(new BranchCellCount(module.Name, null, branchReleases, 0));
                    continue;
                }

                IReadOnlyList<Cell> cells = CellExpansion.Expand(module, branch, releases, scenarios, rules);
                int deploy = cells.Count(c => c.Kind == JobKind.Deploy && branchReleases.Contains(c.Release, StringComparer.Ordinal));
                int compatibility = cells.Count(c => c.Kind == JobKind.Deploy) - deploy;
                counts.Add(new BranchCellCount(
                    module.Name,
                    branch,
                    branchReleases,
                    deploy,
                    cells.Count(c => c.Kind == JobKind.Upgrade),
                    cells.Count(c => c.Kind == JobKind.Rollback),
                    compatibility));
            }
        }

        return counts;
    }
}
