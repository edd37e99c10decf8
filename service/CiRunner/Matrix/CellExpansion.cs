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

        return TargetReleases(branch, releases)
            .SelectMany(release => scenarios
                .Where(scenario => scenario.Runnable && scenario.Needs(module.Name) && scenario.AppliesTo(release.Name))
                .Select(scenario => new Cell(JobKind.Deploy, release.Name, null, scenario.Name)))
            .ToList();
    }

    /// <summary>
    /// The whole matrix of a trigger: deploy cells, compatibility cells, upgrade cells (adjacent and SLURP skip-level,
    /// for scenarios with <c>upgrade: true</c> that apply to both releases, when the branch maps to the target release),
    /// rollback cells, then <see cref="MatrixRules.Exclude"/> and <see cref="MatrixRules.Include"/> in that order.
    /// Each key appears once, in that order.
    /// </summary>
    public static IReadOnlyList<Cell> Expand(
        TrackedModule module,
        string branch,
        IReadOnlyList<Release> releases,
        IReadOnlyList<Scenario> scenarios,
        MatrixRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        IReadOnlyList<Cell> deploy = DeployCells(module, branch, releases, scenarios);
        if (!module.Tracks(branch))
        {
            return [];
        }

        // A scenario that says it cannot run in one container gets no cells of any kind, included ones too.
        List<Scenario> needed = scenarios.Where(s => s.Runnable && s.Needs(module.Name)).ToList();
        var cells = new List<Cell>(deploy);
        cells.AddRange(CompatibilityCells(branch, releases, needed, rules));
        cells.AddRange(UpgradeCells(branch, releases, needed, rules));

        var result = cells.Where(cell => !rules.Exclude.Any(pattern => pattern.Matches(cell))).ToList();
        foreach (CellPattern include in rules.Include)
        {
            if (Included(include, branch, releases, needed) is { } cell)
            {
                result.Add(cell);
            }
        }

        return result.DistinctBy(cell => cell.Key, StringComparer.Ordinal).ToList();
    }

    /// <summary>Upgrade paths into <paramref name="target"/>: from the previous release, and from the previous SLURP release when that skips a release.</summary>
    public static IReadOnlyList<Release> UpgradeSources(Release target, IReadOnlyList<Release> releases)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(releases);
        var sources = new List<Release>();
        if (target.Order > 0)
        {
            sources.Add(releases[target.Order - 1]);
        }

        // The previous SLURP release, when a release lies between (adjacent ones are the path above already).
        if (target.IsSlurp && releases.Take(target.Order).LastOrDefault(r => r.IsSlurp) is { } skipLevel
            && skipLevel.Order < target.Order - 1)
        {
            sources.Add(skipLevel);
        }

        return sources;
    }

    private static IEnumerable<Release> TargetReleases(string branch, IReadOnlyList<Release> releases) =>
        releases.Where(release => release.BranchCandidates.Contains(branch, StringComparer.Ordinal));

    private static IEnumerable<Cell> CompatibilityCells(string branch, IReadOnlyList<Release> releases, List<Scenario> scenarios, MatrixRules rules)
    {
        foreach (CompatibilityCell compatibility in rules.CompatibilityCells.Where(c => c.Branch.IsMatch(branch)))
        {
            // A release the branch maps to already has its deploy cells; a missing release was refused by the loader.
            Release? release = releases.FirstOrDefault(r => r.Name == compatibility.Release);
            if (release is null || release.BranchCandidates.Contains(branch, StringComparer.Ordinal))
            {
                continue;
            }

            foreach (Scenario scenario in scenarios.Where(s => s.AppliesTo(release.Name)))
            {
                yield return new Cell(JobKind.Deploy, release.Name, null, scenario.Name);
            }
        }
    }

    private static IEnumerable<Cell> UpgradeCells(string branch, IReadOnlyList<Release> releases, List<Scenario> scenarios, MatrixRules rules)
    {
        foreach (Release target in TargetReleases(branch, releases))
        {
            foreach (Release source in UpgradeSources(target, releases))
            {
                foreach (Scenario scenario in scenarios.Where(s => s.Upgrade && s.AppliesTo(source.Name) && s.AppliesTo(target.Name)))
                {
                    yield return new Cell(JobKind.Upgrade, target.Name, source.Name, scenario.Name);
                    if (rules.Rollback || scenario.Rollback)
                    {
                        yield return new Cell(JobKind.Rollback, target.Name, source.Name, scenario.Name);
                    }
                }
            }
        }
    }

    /// <summary>An include adds its cell only to triggers whose branch maps to its release, and only for scenarios that need the module.</summary>
    private static Cell? Included(CellPattern include, string branch, IReadOnlyList<Release> releases, List<Scenario> scenarios)
    {
        if (include.Release is null || include.Scenario is null
            || !TargetReleases(branch, releases).Any(r => r.Name == include.Release)
            || !scenarios.Any(s => s.Name == include.Scenario))
        {
            return null;
        }

        JobKind kind = include.Kind ?? JobKind.Deploy;
        return kind == JobKind.Deploy
            ? new Cell(kind, include.Release, null, include.Scenario)
            : include.FromRelease is null ? null : new Cell(kind, include.Release, include.FromRelease, include.Scenario);
    }
}
