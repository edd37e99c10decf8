using System.Text.RegularExpressions;
using CiRunner.Matrix;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CiRunner.Configuration;

/// <summary>The scenarios read from a directory, or every error found in its files.</summary>
public sealed record ScenarioLoadResult(IReadOnlyList<Scenario> Scenarios, IReadOnlyList<ConfigurationError> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>
/// Reads scenario files (<c>scenarios/*.yaml</c>). The format is documented in <c>docs/configuration.md</c>:
/// <c>name</c>, <c>description</c>, <c>manifest</c> (beside the file), <c>modules</c>, <c>releases</c> (default all),
/// <c>upgrade</c> (default true), <c>rollback</c> (default false), <c>steps</c> (default <c>apply</c>, <c>idempotency</c>;
/// run in every phase), <c>seed</c> and <c>verify</c> (command steps: the seed once after the deploy phase, the verify
/// steps at the end of every phase) and <c>network</c> (the containers' Docker network; default <c>Docker:NetworkMode</c>).
/// A <c>tempest</c> step (under <c>steps</c>) names its <c>tempest.conf</c>, which is copied with the scenario's files
/// when it is one of them.
/// </summary>
public static partial class ScenarioLoader
{
    public static readonly TimeSpan DefaultApplyTimeout = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The identity and image smoke tests take one to three minutes; a full API run of both, well under half an hour.</summary>
    public static readonly TimeSpan DefaultTempestTimeout = TimeSpan.FromMinutes(30);

    private static readonly string[] _scenarioKeys = ["name", "description", "manifest", "modules", "releases", "upgrade", "rollback", "steps", "seed", "verify", "network", "init", "files", "parsed-only"];
    private static readonly string[] _stepKeys = ["type", "name", "command", "timeout", "noop", "config", "include", "exclude", "concurrency"];
    private static readonly string[] _tempestKeys = ["config", "include", "exclude", "concurrency"];

    /// <summary>
    /// Loads every <c>*.yaml</c> / <c>*.yml</c> file directly in <paramref name="directory"/>.
    /// With <paramref name="releases"/>, release names and modules are checked against the releases and their
    /// Puppetfiles; pass null when the releases themselves are broken, so that their errors are not echoed here.
    /// </summary>
    public static ScenarioLoadResult Load(string directory, IReadOnlyList<Release>? releases)
    {
        var reader = new ErrorCollectingReader();
        List<ConfigurationError> errors = reader.Errors;
        var scenarios = new List<Scenario>();
        if (!Directory.Exists(directory))
        {
            errors.Add(new ConfigurationError(directory, "directory", directory, "a directory of scenario files (*.yaml)"));
            return new ScenarioLoadResult(scenarios, errors);
        }

        string[] files = Directory.EnumerateFiles(directory, "*.yaml")
            .Concat(Directory.EnumerateFiles(directory, "*.yml"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0)
        {
            errors.Add(new ConfigurationError(directory, "directory", null, "at least one scenario file (*.yaml)"));
        }

        var firstFile = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            (Scenario? scenario, int nameLine) = LoadFile(file, releases, reader);
            if (scenario is null)
            {
                continue;
            }

            if (firstFile.TryGetValue(scenario.Name, out string? other))
            {
                errors.Add(new ConfigurationError(file, $"line {nameLine}, name", scenario.Name,
                    $"a scenario name not used by another file (already used in {Path.GetFileName(other)})"));
                continue;
            }

            firstFile.Add(scenario.Name, file);
            scenarios.Add(scenario);
        }

        return new ScenarioLoadResult(scenarios, errors);
    }

    private static (Scenario? Scenario, int NameLine) LoadFile(string path, IReadOnlyList<Release>? releases, ErrorCollectingReader reader)
    {
        if (YamlNodeReader.Load(path, reader) is not { } stream)
        {
            return (null, 0);
        }

        var file = new FileReader(path, releases, reader);
        return file.Read(stream);
    }


    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ScenarioName();

    // Docker's own rule for network names; it also admits the built-in modes none, host and bridge. Modes that join
    // another container's namespace (container:ID) are left out: a job must not share a network with a stranger.
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex NetworkName();

    /// <summary>Reads one parsed file; every check adds to the shared error list and carries on.</summary>
    private sealed partial class FileReader(string file, IReadOnlyList<Release>? releases, ErrorCollectingReader reader) : YamlNodeReader(file, reader)
    {
        private int _errorsAtStart;

        // Configuration files that tempest steps take from beside the scenario file: copied like the files list.
        private readonly List<string> _tempestConfigs = [];

        public (Scenario? Scenario, int NameLine) Read(YamlStream stream)
        {
            _errorsAtStart = Reader.Errors.Count;
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                Mark at = stream.Documents.Count == 0 ? Mark.Empty : stream.Documents[0].RootNode.Start;
                Error(at, "", stream.Documents.Count == 0 ? null : Describe(stream.Documents[0].RootNode), "a mapping with name, manifest, modules and optional releases, upgrade, steps");
                return (null, 0);
            }

            if (stream.Documents.Count > 1)
            {
                Error(stream.Documents[1].RootNode.Start, "", "a second document", "one scenario per file");
            }

            Dictionary<string, (YamlNode Key, YamlNode Value)> entries = Entries(root, "", _scenarioKeys);

            string? name = RequiredString(root, entries, "name");
            if (name is not null && !ScenarioName().IsMatch(name))
            {
                Error(entries["name"].Value.Start, "name", name, "a name of lower-case letters, digits, '.', '_' or '-' (at most 64)");
            }

            string description = OptionalString(entries, "description") ?? "";
            string? manifest = ReadManifest(root, entries);
            List<string> modules = ReadModules(root, entries);
            List<string> scenarioReleases = ReadReleases(entries);
            bool upgrade = ReadBool(entries, "upgrade", defaultValue: true);
            bool rollback = ReadBool(entries, "rollback", defaultValue: false);
            List<StepDefinition> steps = ReadSteps(entries);
            List<StepDefinition> seed = ReadCommandSteps(entries, "seed");
            List<StepDefinition> verify = ReadCommandSteps(entries, "verify");
            string? network = ReadNetwork(entries);
            InitSystem? init = ReadInit(entries);
            List<string> files = ReadFiles(entries, manifest);
            files.AddRange(_tempestConfigs.Where(config => !files.Contains(config, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal));
            List<string> notRun = entries.TryGetValue("parsed-only", out (YamlNode Key, YamlNode Value) parsedOnly)
                ? StringList(parsedOnly.Value, "parsed-only", "a list of the reasons the scenario is not run, each naming the part and why, like \"nova-compute: needs /dev/kvm\"")?
                    .Select(item => item.Text).ToList() ?? []
                : [];

            if (releases is not null && modules.Count > 0)
            {
                CheckModulesAgainstPuppetfiles(entries, modules, scenarioReleases);
            }

            if (Reader.Errors.Count > _errorsAtStart || name is null || manifest is null)
            {
                return (null, 0);
            }

            var scenario = new Scenario(name, description, Path.GetFullPath(FilePath), manifest, modules, scenarioReleases, steps, upgrade, rollback)
            {
                Seed = seed,
                Verify = verify,
                Network = network,
                Init = init,
                Files = files,
                ParsedOnly = notRun,
            };
            return (scenario, LineOf(entries["name"].Value.Start));
        }

        private string? ReadManifest(YamlMappingNode root, Dictionary<string, (YamlNode Key, YamlNode Value)> entries)
        {
            string? manifest = RequiredString(root, entries, "manifest");
            if (manifest is null)
            {
                return null;
            }

            Mark at = entries["manifest"].Value.Start;
            if (Path.IsPathRooted(manifest) || !manifest.EndsWith(".pp", StringComparison.Ordinal))
            {
                Error(at, "manifest", manifest, "a Puppet manifest (.pp) path relative to the scenario file");
                return null;
            }

            string full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(FilePath))!, manifest));
            if (!File.Exists(full))
            {
                Error(at, "manifest", manifest, $"an existing manifest file beside the scenario file ({full} does not exist)");
                return null;
            }

            return full;
        }

        private List<string> ReadModules(YamlMappingNode root, Dictionary<string, (YamlNode Key, YamlNode Value)> entries)
        {
            var modules = new List<string>();
            if (!entries.TryGetValue("modules", out (YamlNode Key, YamlNode Value) entry))
            {
                Error(root.Start, "modules", null, "a list of the modules the scenario needs, like [keystone, openstacklib]");
                return modules;
            }

            List<(string Text, Mark At)>? items = StringList(entry.Value, "modules", "a non-empty list of module names, like [keystone, openstacklib]");
            foreach ((string text, Mark at) in items ?? [])
            {
                string? name = PuppetfileParser.NormalizeModuleName(text);
                if (name is null)
                {
                    Error(at, "modules", text, "a module name like keystone or puppetlabs-stdlib");
                }
                else if (modules.Contains(name, StringComparer.Ordinal))
                {
                    Error(at, "modules", text, "each module once");
                }
                else
                {
                    modules.Add(name);
                }
            }

            return modules;
        }

        private List<string> ReadReleases(Dictionary<string, (YamlNode Key, YamlNode Value)> entries)
        {
            var names = new List<string>();
            if (!entries.TryGetValue("releases", out (YamlNode Key, YamlNode Value) entry))
            {
                return names;
            }

            string known = releases is null ? "" : string.Join(", ", releases.Select(r => r.Name));
            List<(string Text, Mark At)>? items = StringList(entry.Value, "releases", "a non-empty list of release names, or no releases key for all releases");
            foreach ((string text, Mark at) in items ?? [])
            {
                if (releases is not null && !releases.Any(r => r.Name == text))
                {
                    Error(at, "releases", text, $"a configured release: {known}");
                }
                else if (names.Contains(text, StringComparer.Ordinal))
                {
                    Error(at, "releases", text, "each release once");
                }
                else
                {
                    names.Add(text);
                }
            }

            return names;
        }

        private void CheckModulesAgainstPuppetfiles(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, List<string> modules, List<string> scenarioReleases)
        {
            var applicable = releases!.Where(r => scenarioReleases.Count == 0 || scenarioReleases.Contains(r.Name, StringComparer.Ordinal)).ToList();
            var sequence = entries["modules"].Value as YamlSequenceNode;
            for (int i = 0; i < modules.Count; i++)
            {
                string module = modules[i];
                Mark at = sequence?.Children.FirstOrDefault(n => n is YamlScalarNode s && PuppetfileParser.NormalizeModuleName(s.Value ?? "") == module)?.Start
                    ?? entries["modules"].Value.Start;
                if (!releases!.Any(r => r.Puppetfile.Find(module) is not null))
                {
                    Error(at, "modules", module, "a module that a release Puppetfile declares (it is in none of them)");
                    continue;
                }

                string[] missing = applicable.Where(r => r.Puppetfile.Find(module) is null).Select(r => r.Name).ToArray();
                if (missing.Length > 0)
                {
                    Error(at, "modules", module,
                        $"a module in the Puppetfile of every release the scenario applies to (missing for {string.Join(", ", missing)}); add it there or list the scenario's releases");
                }
            }
        }

        private string? ReadNetwork(Dictionary<string, (YamlNode Key, YamlNode Value)> entries)
        {
            if (!entries.TryGetValue("network", out (YamlNode Key, YamlNode Value) entry))
            {
                return null;
            }

            string? text = Scalar(entry.Value);
            if (text is null || !NetworkName().IsMatch(text))
            {
                Error(entry.Value.Start, "network", text ?? Describe(entry.Value),
                    "a Docker network: none, host, bridge or the name of a network made with docker network create (leave the key out for Docker:NetworkMode)");
                return null;
            }

            return text;
        }

        private InitSystem? ReadInit(Dictionary<string, (YamlNode Key, YamlNode Value)> entries)
        {
            if (!entries.TryGetValue("init", out (YamlNode Key, YamlNode Value) entry))
            {
                return null;
            }

            string? text = Scalar(entry.Value);
            InitSystem? init = text is null ? null : ConfigurationLoader.ParseInitSystem(text);
            if (init is null)
            {
                Error(entry.Value.Start, "init", text ?? Describe(entry.Value),
                    "none (the step script is PID 1) or systemd (the container boots systemd, as a node does); leave it out for the release's Init");
            }

            return init;
        }

        /// <summary>The <c>files</c> list: existing files in the scenario's folder or below it, as full paths.</summary>
        private List<string> ReadFiles(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string? manifest)
        {
            var files = new List<string>();
            if (!entries.TryGetValue("files", out (YamlNode Key, YamlNode Value) entry))
            {
                return files;
            }

            const string Expected = "a list of files beside the scenario file that its steps use, like [seed.sh, verify.sh]";
            string folder = Path.GetDirectoryName(Path.GetFullPath(FilePath))!;
            foreach ((string text, Mark at) in StringList(entry.Value, "files", Expected) ?? [])
            {
                string full = Path.GetFullPath(Path.Combine(folder, text));
                string relative = Path.GetRelativePath(folder, full);
                if (Path.IsPathRooted(text) || relative.StartsWith("..", StringComparison.Ordinal) || relative == ".")
                {
                    Error(at, "files", text, "a path relative to the scenario file's folder, inside it (no absolute path, no ..)");
                }
                else if (!File.Exists(full))
                {
                    Error(at, "files", text, $"an existing file beside the scenario file ({full} does not exist)");
                }
                else if (files.Contains(full, StringComparer.Ordinal) || string.Equals(full, manifest, StringComparison.Ordinal))
                {
                    Error(at, "files", text, "each file once (the manifest is copied anyway)");
                }
                else
                {
                    files.Add(full);
                }
            }

            return files;
        }
    }
}

