using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Web.Pages;

/// <summary>
/// The cells of one module and branch laid out for the matrix page: releases (and upgrade columns) across, scenarios
/// down.
/// </summary>
public sealed class MatrixGrid
{
    private readonly Dictionary<(string Release, string Scenario), CellResultRecord> _cells;

    private MatrixGrid(string module, string branch, List<(string Release, string Scenario, CellResultRecord Cell)> cells, CiRunnerSettings settings)
    {
        Module = module;
        Branch = branch;
        Releases = OrderReleases(cells.Select(c => c.Release).Distinct(StringComparer.Ordinal), settings);
        Scenarios = cells.Select(c => c.Scenario).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        _cells = [];
        foreach ((string release, string scenario, CellResultRecord cell) in cells)
        {
            _cells.TryAdd((release, scenario), cell);
        }
    }

    public string Module { get; }

    public string Branch { get; }

    public IReadOnlyList<string> Releases { get; }

    public IReadOnlyList<string> Scenarios { get; }

    /// <summary>One grid per module and branch, in the order the store lists them.</summary>
    public static IReadOnlyList<MatrixGrid> From(IEnumerable<CellResultRecord> cells, CiRunnerSettings settings) =>
        cells.GroupBy(c => (c.Module, c.Branch))
            .Select(g => new MatrixGrid(g.Key.Module, g.Key.Branch, g.Select(SplitKey).ToList(), settings))
            .ToList();

    public CellResultRecord? Cell(string release, string scenario) => _cells.GetValueOrDefault((release, scenario));

    private static (string Release, string Scenario, CellResultRecord Cell) SplitKey(CellResultRecord cell)
    {
        // Keys read "<release or from->to>/<scenario>[:kind]": the kind goes to the column, so an upgrade cell sits in
        // the scenario's row under its "from->to" column instead of in a row of its own.
        int slash = cell.CellKey.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (cell.CellKey, "", cell);
        }

        string column = cell.CellKey[..slash];
        string scenario = cell.CellKey[(slash + 1)..];
        int colon = scenario.LastIndexOf(':');
        if (colon >= 0)
        {
            string kind = scenario[(colon + 1)..];
            scenario = scenario[..colon];
            column = kind == "upgrade" ? column : $"{column} {kind}";
        }

        return (column, scenario, cell);
    }

    /// <summary>Configured releases in their configured order first (oldest to newest), then upgrade and unknown columns.</summary>
    private static List<string> OrderReleases(IEnumerable<string> releases, CiRunnerSettings settings)
    {
        List<string> configured = settings.Releases.Select(r => r.Name).ToList();
        return releases
            .OrderBy(r => configured.IndexOf(r) is int i and >= 0 ? i : int.MaxValue)
            .ThenBy(r => r, StringComparer.Ordinal)
            .ToList();
    }
}
