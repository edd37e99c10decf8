using CiRunner.Matrix;

namespace CiRunner.Configuration;

// The Matrix section is read after releases and scenarios, because every name in it must be one of theirs.
public static partial class ConfigurationLoader
{
    /// <summary>The symbolic release of a compatibility cell: the newest release that is not the development one.</summary>
    public const string NewestStable = "newest-stable";

    private static readonly string[] _matrixKeys = [nameof(MatrixOptions.Include), nameof(MatrixOptions.Exclude), nameof(MatrixOptions.CompatibilityCells), nameof(MatrixOptions.Rollback)];
    private static readonly string[] _cellPatternKeys = [nameof(CellPatternOptions.Kind), nameof(CellPatternOptions.Release), nameof(CellPatternOptions.FromRelease), nameof(CellPatternOptions.Scenario)];
    private static readonly string[] _compatibilityKeys = [nameof(CompatibilityCellOptions.Branch), nameof(CompatibilityCellOptions.Release)];

    // scenarios is null when scenario files had errors, so names are not checked against a partial list.
    private static MatrixRules ReadMatrix(ConfigurationReader reader, IReadOnlyList<Release> releases, IReadOnlyList<Scenario>? scenarios)
    {
        const string Section = MatrixOptions.SectionName;
        if (!reader.IsPresent(Section) || !reader.RejectUnknownKeys(Section, _matrixKeys))
        {
            return MatrixRules.Empty;
        }

        List<CellPattern> exclude = ReadCellPatterns(reader, $"{Section}:{nameof(MatrixOptions.Exclude)}", releases, scenarios, isInclude: false);
        List<CellPattern> include = ReadCellPatterns(reader, $"{Section}:{nameof(MatrixOptions.Include)}", releases, scenarios, isInclude: true);
        List<CompatibilityCell> compatibility = ReadCompatibilityCells(reader, $"{Section}:{nameof(MatrixOptions.CompatibilityCells)}", releases);
        bool rollback = reader.Bool($"{Section}:{nameof(MatrixOptions.Rollback)}", false);
        return new MatrixRules(include, exclude, compatibility, rollback);
    }

    private static List<CellPattern> ReadCellPatterns(ConfigurationReader reader, string key, IReadOnlyList<Release> releases, IReadOnlyList<Scenario>? scenarios, bool isInclude)
    {
        var patterns = new List<CellPattern>();
        if (!reader.IsPresent(key))
        {
            return patterns;
        }

        string releaseNames = string.Join(", ", releases.Select(r => r.Name));
        string wildcard = isInclude ? "" : " (or a pattern with *)";
        foreach (IConfigurationSection entry in reader.Entries(key, "a JSON array of cells like { \"Kind\": \"upgrade\", \"Release\": \"2024.1\", \"Scenario\": \"scenario001\" }"))
        {
            string at = entry.Path;
            int errorsBefore = reader.Errors.Count;
            if (!reader.RejectUnknownKeys(at, _cellPatternKeys))
            {
                continue;
            }

            string? kindText = reader.String($"{at}:Kind", null, k => WireNames.TryParseWire(k, out JobKind _), "deploy, upgrade or rollback");
            JobKind? kind = WireNames.TryParseWire(kindText, out JobKind parsed) ? parsed : null;
            string? release = reader.String($"{at}:Release", null, n => NameOrPattern(n, releases.Select(r => r.Name), isInclude),
                $"a configured release{wildcard}: {releaseNames}", required: isInclude);
            string? fromRelease = reader.String($"{at}:FromRelease", null, n => NameOrPattern(n, releases.Select(r => r.Name), isInclude),
                $"a configured release{wildcard}: {releaseNames}");
            string? scenario = reader.String($"{at}:Scenario", null,
                n => scenarios is null || NameOrPattern(n, scenarios.Select(s => s.Name), isInclude),
                scenarios is null ? "a scenario name" : $"a scenario name{wildcard}: {string.Join(", ", scenarios.Select(s => s.Name))}", required: isInclude);

            if (reader.Errors.Count > errorsBefore)
            {
                continue;
            }

            if (kind == JobKind.Deploy && fromRelease is not null)
            {
                reader.Error($"{at}:FromRelease", fromRelease, "no FromRelease for a deploy cell (only upgrade and rollback cells have one)");
                continue;
            }

            if (isInclude && kind is JobKind.Upgrade or JobKind.Rollback)
            {
                Release? to = releases.FirstOrDefault(r => r.Name == release);
                Release? from = releases.FirstOrDefault(r => r.Name == fromRelease);
                if (from is null || to is null || from.Order >= to.Order)
                {
                    reader.Error($"{at}:FromRelease", fromRelease, $"a release older than {release} to upgrade from (required for {kindText} cells)");
                    continue;
                }
            }
            else if (isInclude && kind is null && fromRelease is not null)
            {
                reader.Error($"{at}:Kind", null, "upgrade or rollback when FromRelease is given (an include without Kind is a deploy cell)");
                continue;
            }

            patterns.Add(new CellPattern(kind, release, fromRelease, scenario));
        }

        return patterns;
    }

    private static List<CompatibilityCell> ReadCompatibilityCells(ConfigurationReader reader, string key, IReadOnlyList<Release> releases)
    {
        var cells = new List<CompatibilityCell>();
        if (!reader.IsPresent(key))
        {
            return cells;
        }

        Release? newestStable = releases.LastOrDefault(r => !r.IsDevelopment);
        string releaseNames = string.Join(", ", releases.Select(r => r.Name));
        foreach (IConfigurationSection entry in reader.Entries(key, "a JSON array like [ { \"Branch\": \"master\", \"Release\": \"newest-stable\" } ]"))
        {
            string at = entry.Path;
            if (!reader.RejectUnknownKeys(at, _compatibilityKeys))
            {
                continue;
            }

            string? branch = reader.String($"{at}:Branch", null, b => BranchPattern.TryParse(b, out _),
                "a branch name or pattern with * (like master)", required: true);
            string? release = reader.String($"{at}:Release", null,
                n => releases.Any(r => r.Name == n) || (n == NewestStable && newestStable is not null),
                $"a configured release ({releaseNames}) or {NewestStable} (the newest release that does not map to master)", required: true);
            if (branch is not null && release is not null)
            {
                cells.Add(new CompatibilityCell(BranchPattern.Parse(branch), release == NewestStable ? newestStable!.Name : release));
            }
        }

        return cells;
    }

    private static bool NameOrPattern(string value, IEnumerable<string> names, bool exact) =>
        exact ? names.Contains(value, StringComparer.Ordinal) : value.Length > 0 && names.Any(n => BranchPattern.GlobMatch(value, n));
}
