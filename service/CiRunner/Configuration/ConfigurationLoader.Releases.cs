using System.Globalization;
using System.Text.RegularExpressions;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

// The Releases list: names in upgrade order, branch candidates, images, and each release's Puppetfile.
public static partial class ConfigurationLoader
{
    private static readonly string[] _releaseKeys = OptionsBinder.KeysOf<ReleaseOptions>();

    /// <summary>Reads each release; an entry with errors is null so that indexes stay aligned with the keys.</summary>
    private static List<ReleaseOptions?> ReadReleases(ConfigurationReader reader)
    {
        const string Section = ReleaseOptions.SectionName;
        const string ListExpected = "a JSON array of releases in upgrade order, oldest first, each with Name, Branches and Image";
        var releases = new List<ReleaseOptions?>();
        if (!reader.IsPresent(Section))
        {
            reader.Error(Section, null, ListExpected);
            return releases;
        }

        List<IConfigurationSection> entries = reader.Entries(Section, ListExpected);
        if (entries.Count == 0 && !reader.IsReported(Section))
        {
            reader.Error(Section, "[]", "at least one release: " + ListExpected);
        }

        var firstIndex = new Dictionary<string, string>(StringComparer.Ordinal);
        string? developmentKey = null;
        (int Year, int Number, string Name)? newestNumbered = null;
        foreach (IConfigurationSection entry in entries)
        {
            string key = entry.Path;
            int errorsBefore = reader.Errors.Count;
            if (!reader.RejectUnknownKeys(key, _releaseKeys))
            {
                releases.Add(null);
                continue;
            }

            string? name = reader.String($"{key}:Name", null, ReleaseName().IsMatch,
                "an OpenStack release name: a series name like zed, or a number like 2024.1", required: true);
            if (name is not null)
            {
                newestNumbered = CheckReleaseOrder(reader, $"{key}:Name", name, newestNumbered);
                if (!firstIndex.TryAdd(name, key))
                {
                    reader.Error($"{key}:Name", name, $"a release name not used before (already used by {firstIndex[name]})");
                }
            }

            List<string>? branches = reader.StringList($"{key}:Branches",
                "a JSON array of branch or tag candidates in order of preference, like [\"stable/2023.1\", \"unmaintained/2023.1\", \"2023.1-eol\"]",
                b => GitRefName.IsValid(b), "a git branch or tag name (no wildcards)");
            if (branches is null && !reader.IsReported($"{key}:Branches"))
            {
                reader.Error($"{key}:Branches", null, "a JSON array of branch or tag candidates, like [\"stable/2024.1\"] (or [\"master\"] for the development release)");
            }
            else if (branches is { Count: 0 })
            {
                reader.Error($"{key}:Branches", "[]", "at least one branch or tag candidate");
            }

            AddDuplicateErrors(reader, $"{key}:Branches", branches, "each candidate once");
            if (branches?.Contains("master", StringComparer.Ordinal) == true)
            {
                if (developmentKey is not null)
                {
                    reader.Error($"{key}:Branches", "master", $"at most one development release (mapped to master); {developmentKey} already is");
                }

                developmentKey ??= key;
            }
            else if (developmentKey is not null && name is not null)
            {
                reader.Error($"{key}:Name", name, $"the development release ({developmentKey}, mapped to master) last, since it is the newest");
            }

            string? image = reader.String($"{key}:Image", null, ImageReference().IsMatch,
                "a container image reference like cirunner/release:2024.1", required: true);
            string? puppetfile = reader.String($"{key}:Puppetfile", null, v => v.Trim().Length > 0 && OptionValues.IsPath(v),
                "a Puppetfile path relative to the scenarios directory (default puppetfiles/<release>.Puppetfile)");
            bool? slurp = reader.NullableBool($"{key}:Slurp");
            List<string>? prepare = reader.StringList($"{key}:UpgradePrepareCommand",
                "an argument array like [\"/usr/local/bin/switch-repos\", \"2024.1\"]", a => a.Length > 0, "a non-empty argument");
            string suite = reader.String($"{key}:Suite", "bookworm", DebianSuite().IsMatch,
                "a Debian suite its base image is made of, like bookworm or trixie (cirunner images base --suite <suite>)")!;
            InitSystem? init = ReadInitSystem(reader, $"{key}:Init");
            bool packageSnapshot = reader.Bool($"{key}:PackageSnapshot", false);

            if (reader.Errors.Count > errorsBefore || name is null || branches is null || image is null)
            {
                releases.Add(null);
                continue;
            }

            releases.Add(new ReleaseOptions
            {
                Name = name,
                Branches = branches,
                Image = image,
                Puppetfile = puppetfile,
                Slurp = slurp,
                UpgradePrepareCommand = prepare ?? [],
                Suite = suite,
                Init = init ?? InitSystem.None,
                PackageSnapshot = packageSnapshot,
            });
        }

        return releases;
    }

    /// <summary>An <see cref="InitSystem"/> by its lower-case name (<c>none</c>, <c>systemd</c>); null when absent or reported.</summary>
    internal static InitSystem? ReadInitSystem(ConfigurationReader reader, string key)
    {
        string? text = reader.String(key, null, v => ParseInitSystem(v) is not null,
            "none (the step script is PID 1) or systemd (the container boots systemd, as a node does)");
        return text is null ? null : ParseInitSystem(text);
    }

    /// <summary>Parses <c>none</c> or <c>systemd</c>.</summary>
    public static InitSystem? ParseInitSystem(string text) => text switch
    {
        "none" => InitSystem.None,
        "systemd" => InitSystem.Systemd,
        _ => null,
    };

    /// <summary>Numbered releases (YYYY.N) ascend; series names (zed and older) come before all of them.</summary>
    private static (int Year, int Number, string Name)? CheckReleaseOrder(ConfigurationReader reader, string key, string name, (int Year, int Number, string Name)? newest)
    {
        Match numbered = NumberedRelease().Match(name);
        if (!numbered.Success)
        {
            if (newest is { } n)
            {
                reader.Error(key, name, $"series-named releases (like zed) before the numbered ones; list releases oldest first ({name} is after {n.Name})");
            }

            return newest;
        }

        int year = int.Parse(numbered.Groups["year"].Value, CultureInfo.InvariantCulture);
        int number = int.Parse(numbered.Groups["number"].Value, CultureInfo.InvariantCulture);
        if (year < 2023 || year > 2100 || number is < 1 or > 2)
        {
            reader.Error(key, name, "a numbered release YYYY.1 or YYYY.2 from 2023.1 on (OpenStack has released twice a year since 2023.1)");
            return newest;
        }

        if (newest is { } previous && (year, number).CompareTo((previous.Year, previous.Number)) <= 0)
        {
            reader.Error(key, name, $"releases in upgrade order, oldest first ({name} is listed after {previous.Name})");
            return newest;
        }

        return (year, number, name);
    }

    /// <summary>Parses each valid release's Puppetfile and builds the releases; false when any of them failed.</summary>
    private static bool LoadPuppetfiles(ConfigurationReader reader, List<ReleaseOptions?> options, string scenariosDirectory, List<Release> releases, List<ConfigurationError> fileErrors)
    {
        bool allLoaded = true;
        for (int i = 0; i < options.Count; i++)
        {
            ReleaseOptions? release = options[i];
            if (release is null)
            {
                continue;
            }

            string relative = release.Puppetfile ?? $"puppetfiles/{release.Name}.Puppetfile";
            string full = Path.GetFullPath(Path.Combine(scenariosDirectory, relative));
            if (!File.Exists(full))
            {
                reader.Error($"{ReleaseOptions.SectionName}:{i}:Puppetfile", relative,
                    $"an r10k Puppetfile relative to the scenarios directory (default puppetfiles/<release>.Puppetfile); {full} does not exist");
                allLoaded = false;
                continue;
            }

            PuppetfileParseResult parsed = PuppetfileParser.ParseFile(full);
            if (!parsed.Succeeded)
            {
                fileErrors.AddRange(parsed.Errors);
                allLoaded = false;
                continue;
            }

            bool slurp = release.Slurp ?? NumberedRelease().Match(release.Name) is { Success: true } m && m.Groups["number"].Value == "1";
            releases.Add(new Release(release.Name, releases.Count, release.Branches, release.Image, slurp, parsed.Puppetfile, release.UpgradePrepareCommand)
            {
                Suite = release.Suite,
                Init = release.Init,
                PackageSnapshot = release.PackageSnapshot,
            });
        }

        return allLoaded;
    }

    [GeneratedRegex("^(?:[a-z][a-z0-9-]*|[0-9]{4}\\.[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReleaseName();

    [GeneratedRegex("^(?<year>[0-9]{4})\\.(?<number>[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberedRelease();

    // Debian's suite and code names: bookworm, trixie, sid, stable, testing.
    [GeneratedRegex("^[a-z][a-z0-9-]{1,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex DebianSuite();

    // The reference grammar of the distribution spec, without digests' algorithm variety: [host[:port]/]path[:tag][@sha256:hex].
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageReference();
}
