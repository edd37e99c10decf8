namespace CiRunner.Configuration;

/// <summary>
/// The optional <c>Matrix</c> section: rules on top of the expanded cells. <see cref="ConfigurationLoader"/> checks
/// every name against the releases and scenarios and builds <see cref="Matrix.MatrixRules"/>.
/// </summary>
public sealed class MatrixOptions
{
    public const string SectionName = "Matrix";

    /// <summary>Cells added after <see cref="Exclude"/> (GitHub Actions semantics): Release and Scenario required, no wildcards.</summary>
    public List<CellPatternOptions> Include { get; set; } = [];

    /// <summary>Patterns removing cells; omitted fields match everything, <c>*</c> matches any run of characters.</summary>
    public List<CellPatternOptions> Exclude { get; set; } = [];

    /// <summary>Deploy cells of a branch on a release it does not map to (<c>master</c> on <c>newest-stable</c>).</summary>
    public List<CompatibilityCellOptions> CompatibilityCells { get; set; } = [];

    /// <summary>Every upgrade cell also gets a rollback cell (a scenario can ask for it alone with <c>rollback: true</c>).</summary>
    public bool Rollback { get; set; }
}

/// <summary>One entry of <c>Matrix:Include</c> or <c>Matrix:Exclude</c>.</summary>
public sealed class CellPatternOptions
{
    /// <summary><c>deploy</c>, <c>upgrade</c> or <c>rollback</c>.</summary>
    public string? Kind { get; set; }

    /// <summary>The release under test (the upgrade target).</summary>
    public string? Release { get; set; }

    /// <summary>The release upgraded from; upgrade and rollback cells only.</summary>
    public string? FromRelease { get; set; }

    /// <summary>Scenario name.</summary>
    public string? Scenario { get; set; }
}

/// <summary>One entry of <c>Matrix:CompatibilityCells</c>.</summary>
public sealed class CompatibilityCellOptions
{
    /// <summary>Branch pattern of the module under test, like <c>master</c>.</summary>
    public string Branch { get; set; } = "";

    /// <summary>A release name, or <c>newest-stable</c>: the newest release that is not the development release.</summary>
    public string Release { get; set; } = "";
}
