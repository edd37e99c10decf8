namespace CiRunner.Matrix;

/// <summary>Which cells a change of one module on one branch runs. Pure: plain values in, plain values out.</summary>
public static class CellExpansion
{
    /// <summary>
    /// Deploy cells for <paramref name="module"/> at <paramref name="branch"/>: every scenario that needs the module,
    /// on every release whose branch candidates include the branch and that the scenario applies to.
    /// </summary>
    public static IReadOnlyList<Cell> DeployCells(
        TrackedModule module,
        string branch,
        IReadOnlyList<Release> releases,
        IReadOnlyList<Scenario> scenarios)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(releases);
        ArgumentNullException.ThrowIfNull(scenarios);
        if (!module.Tracks(branch))
        {
            return [];
        }

        return releases
            .Where(release => release.BranchCandidates.Contains(branch, StringComparer.Ordinal))
            .SelectMany(release => scenarios
                .Where(scenario => scenario.Needs(module.Name) && scenario.AppliesTo(release.Name))
                .Select(scenario => new Cell(JobKind.Deploy, release.Name, null, scenario.Name)))
            .ToList();
    }
}
