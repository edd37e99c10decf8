using System.Globalization;

namespace CiRunner.Matrix;

/// <summary>One cell of a matrix: a scenario on a release (or an upgrade path), which becomes one job.</summary>
/// <param name="Kind">Deploy, upgrade or rollback.</param>
/// <param name="Release">The release under test (the upgrade target for upgrade cells).</param>
/// <param name="FromRelease">The release upgraded from; null for deploy cells.</param>
/// <param name="Scenario">Scenario name.</param>
public sealed record Cell(JobKind Kind, string Release, string? FromRelease, string Scenario)
{
    /// <summary>Stable key of the cell across runs: <c>zed/scenario001</c>, <c>2023.1-&gt;2024.1/scenario001:upgrade</c>.</summary>
    public string Key => Kind == JobKind.Deploy
        ? $"{Release}/{Scenario}"
        : string.Create(CultureInfo.InvariantCulture, $"{FromRelease}->{Release}/{Scenario}:{Kind.ToWire()}");
}
