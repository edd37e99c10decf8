namespace CiRunner.Matrix;

/// <summary>
/// The configured <c>Matrix</c> section as plain values: include/exclude rules, compatibility cells and rollback.
/// Built by the configuration loader, which has already checked every name against the releases and scenarios.
/// </summary>
/// <param name="Include">Cells added after exclusion (GitHub Actions semantics: an include can bring back an excluded cell).</param>
/// <param name="Exclude">Patterns removing expanded cells.</param>
/// <param name="CompatibilityCells">Extra deploy cells for branches on releases they do not map to.</param>
/// <param name="Rollback">Every upgrade cell also gets a rollback cell.</param>
public sealed record MatrixRules(
    IReadOnlyList<CellPattern> Include,
    IReadOnlyList<CellPattern> Exclude,
    IReadOnlyList<CompatibilityCell> CompatibilityCells,
    bool Rollback)
{
    public static MatrixRules Empty { get; } = new([], [], [], false);
}

/// <summary>
/// A cell pattern of <c>Matrix:Include</c> or <c>Matrix:Exclude</c>. A null field matches every cell; text fields
/// may use <c>*</c> in exclusions. <see cref="FromRelease"/> never matches a deploy cell, which has none.
/// </summary>
public sealed record CellPattern(JobKind? Kind, string? Release, string? FromRelease, string? Scenario)
{
    public bool Matches(Cell cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        return (Kind is null || Kind == cell.Kind)
            && (Release is null || BranchPattern.GlobMatch(Release, cell.Release))
            && (FromRelease is null || (cell.FromRelease is not null && BranchPattern.GlobMatch(FromRelease, cell.FromRelease)))
            && (Scenario is null || BranchPattern.GlobMatch(Scenario, cell.Scenario));
    }
}

/// <summary>
/// Deploy cells for a branch on a release that the branch does not map to, such as <c>master</c> against the newest
/// stable release: does the development code still work with the previous release's packages and module set?
/// </summary>
/// <param name="Branch">Branch pattern of the module under test.</param>
/// <param name="Release">Release name, already resolved (the loader turns <c>newest-stable</c> into a name).</param>
public sealed record CompatibilityCell(BranchPattern Branch, string Release);
