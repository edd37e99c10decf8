using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Web.Pages;

/// <summary>
/// The cells of one module and branch laid out for the matrix page: releases (and upgrade columns) across, scenarios
/// down; each cell with a short strip of its last results.
/// </summary>
public sealed class MatrixGrid
{
    /// <summary>How many of a cell's last results its strip shows.</summary>
    public const int StripLength = 10;

    private readonly Dictionary<(string Release, string Scenario), CellResultRecord> _cells;
    private readonly IReadOnlyDictionary<(string Module, string Branch, string CellKey), IReadOnlyList<CellStripEntry>> _strips;

    private MatrixGrid(
        string module,
        string branch,
        List<(string Release, string Scenario, CellResultRecord Cell)> cells,
        CiRunnerSettings settings,
        IReadOnlyDictionary<(string Module, string Branch, string CellKey), IReadOnlyList<CellStripEntry>> strips)
    {
        Module = module;
        Branch = branch;
        _strips = strips;
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

    /// <summary>One grid per module and branch, in the order the store lists them; <paramref name="strips"/> are the cells' last results, oldest first.</summary>
    public static IReadOnlyList<MatrixGrid> From(
        IEnumerable<CellResultRecord> cells,
        CiRunnerSettings settings,
        IReadOnlyDictionary<(string Module, string Branch, string CellKey), IReadOnlyList<CellStripEntry>>? strips = null) =>
        cells.GroupBy(c => (c.Module, c.Branch))
            .Select(g => new MatrixGrid(g.Key.Module, g.Key.Branch, g.Select(SplitKey).ToList(), settings, strips ?? new Dictionary<(string, string, string), IReadOnlyList<CellStripEntry>>()))
            .ToList();

    public CellResultRecord? Cell(string release, string scenario) => _cells.GetValueOrDefault((release, scenario));

    /// <summary>The cell's last results, oldest first; empty when none were read.</summary>
    public IReadOnlyList<CellStripEntry> Strip(CellResultRecord cell) =>
        _strips.GetValueOrDefault((cell.Module, cell.Branch, cell.CellKey)) ?? [];

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
