using System.Globalization;
using System.Text.RegularExpressions;
using CiRunner.Matrix;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
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
        var errors = new List<ConfigurationError>();
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
            (Scenario? scenario, int nameLine) = LoadFile(file, releases, errors);
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

    private static (Scenario? Scenario, int NameLine) LoadFile(string path, IReadOnlyList<Release>? releases, List<ConfigurationError> errors)
    {
        var stream = new YamlStream();
        MarkTrackingParser? parser = null;
        try
        {
            using var reader = new StreamReader(path);
            parser = new MarkTrackingParser(new Parser(reader));
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            errors.Add(new ConfigurationError(path, $"line {e.Start.Line}", OneLine(e.Message), "valid YAML"));
            return (null, 0);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this without a position for some truncated flow collections ("[a, b" at
            // the end of the file); the last event it produced is the best position there is.
            long line = parser?.LastMark.Line ?? 1;
            errors.Add(new ConfigurationError(path, $"line {line}", OneLine(e.Message), "valid YAML (is a [ or { left unclosed?)"));
            return (null, 0);
        }
        catch (IOException e)
        {
            errors.Add(new ConfigurationError(path, "file", null, $"a readable scenario file ({e.Message})"));
            return (null, 0);
        }

        var file = new FileReader(path, releases, errors);
        return file.Read(stream);
    }

    private static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Passes events through and remembers where the last one started.</summary>
    private sealed class MarkTrackingParser(IParser inner) : IParser
    {
        public Mark LastMark { get; private set; } = Mark.Empty;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            bool moved = inner.MoveNext();
            if (moved && inner.Current is { } current)
            {
                LastMark = current.Start;
            }

            return moved;
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ScenarioName();

    // Docker's own rule for network names; it also admits the built-in modes none, host and bridge. Modes that join
    // another container's namespace (container:ID) are left out: a job must not share a network with a stranger.
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex NetworkName();

    /// <summary>Reads one parsed file; every check adds to the shared error list and carries on.</summary>
    private sealed class FileReader(string path, IReadOnlyList<Release>? releases, List<ConfigurationError> errors)
    {
        private int _errorsAtStart;

        // Configuration files that tempest steps take from beside the scenario file: copied like the files list.
        private readonly List<string> _tempestConfigs = [];

        public (Scenario? Scenario, int NameLine) Read(YamlStream stream)
        {
            _errorsAtStart = errors.Count;
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

            if (errors.Count > _errorsAtStart || name is null || manifest is null)
            {
                return (null, 0);
            }

            var scenario = new Scenario(name, description, Path.GetFullPath(path), manifest, modules, scenarioReleases, steps, upgrade, rollback)
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

            string full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, manifest));
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

        private List<StepDefinition> ReadSteps(Dictionary<string, (YamlNode Key, YamlNode Value)> entries)
        {
            var steps = new List<StepDefinition>();
            if (!entries.TryGetValue("steps", out (YamlNode Key, YamlNode Value) entry))
            {
                steps.Add(new StepDefinition(StepKind.Apply, "apply", [], DefaultApplyTimeout));
                steps.Add(new StepDefinition(StepKind.Idempotency, "idempotency", [], DefaultApplyTimeout));
                return steps;
            }

            if (entry.Value is not YamlSequenceNode sequence || sequence.Children.Count == 0)
            {
                Error(entry.Value.Start, "steps", Describe(entry.Value), "a non-empty list of steps (apply, idempotency, tempest, or a mapping with type: command)");
                return steps;
            }

            for (int i = 0; i < sequence.Children.Count; i++)
            {
                StepDefinition? step = ReadStep(sequence.Children[i], $"steps[{i}]");
                if (step is null)
                {
                    continue;
                }

                if (step.Kind == StepKind.Idempotency && !steps.Any(s => s.Kind == StepKind.Apply))
                {
                    Error(sequence.Children[i].Start, $"steps[{i}]", "idempotency", "an apply step before the idempotency step (it re-applies the manifest)");
                }

                steps.Add(step);
            }

            return steps;
        }

        /// <summary>A <c>seed</c> or <c>verify</c> list: command steps, each a mapping (type may be left out) or an argument list.</summary>
        private List<StepDefinition> ReadCommandSteps(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key)
        {
            var steps = new List<StepDefinition>();
            if (!entries.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry))
            {
                return steps;
            }

            if (entry.Value is not YamlSequenceNode sequence || sequence.Children.Count == 0)
            {
                Error(entry.Value.Start, key, Describe(entry.Value),
                    "a non-empty list of command steps, like - { name: data kept, command: [test, -f, /srv/data] } or - [test, -f, /srv/data]");
                return steps;
            }

            for (int i = 0; i < sequence.Children.Count; i++)
            {
                YamlNode item = sequence.Children[i];
                string itemKey = $"{key}[{i}]";
                if (item is YamlSequenceNode)
                {
                    List<string> command = StringList(item, itemKey, "a non-empty argument list like [test, -f, /srv/data]")?.Select(c => c.Text).ToList() ?? [];
                    if (command.Count > 0)
                    {
                        steps.Add(new StepDefinition(StepKind.Command, $"{key}: {string.Join(' ', command)}", command, DefaultCommandTimeout));
                    }

                    continue;
                }

                if (ReadStep(item, itemKey, commandOnly: true) is { } step)
                {
                    // An unnamed step is named after its list, so results and logs say it was a seed or a verify step.
                    bool named = item is YamlMappingNode mapping && mapping.Children.Keys.Any(k => Scalar(k) == "name");
                    steps.Add(named ? step : step with { Name = $"{key}: {step.Name}" });
                }
            }

            return steps;
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
            string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
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

        private StepDefinition? ReadStep(YamlNode node, string key, bool commandOnly = false)
        {
            const string StepTypes = "apply, idempotency, command or tempest";
            if (commandOnly && node is not YamlMappingNode)
            {
                return Fail(node.Start, key, Describe(node), "a command step: a mapping with command (and optional name, timeout), or an argument list like [test, -f, /srv/data]");
            }

            if (node is YamlScalarNode scalar)
            {
                string text = scalar.Value ?? "";
                return text switch
                {
                    "apply" => new StepDefinition(StepKind.Apply, "apply", [], DefaultApplyTimeout),
                    "idempotency" => new StepDefinition(StepKind.Idempotency, "idempotency", [], DefaultApplyTimeout),
                    "tempest" => ReadTempest(null, node.Start, key) is { } defaults
                        ? new StepDefinition(StepKind.Tempest, "tempest", [], DefaultTempestTimeout) { Tempest = defaults }
                        : null,
                    "command" => Fail(node.Start, key, text, "a command step as a mapping: { type: command, command: [test, -f, /etc/x] }"),
                    _ => Fail(node.Start, key, text, $"a step type: {StepTypes}"),
                };
            }

            if (node is not YamlMappingNode mapping)
            {
                return Fail(node.Start, key, Describe(node), $"a step: {StepTypes}, or a mapping with type, name, command, timeout");
            }

            Dictionary<string, (YamlNode Key, YamlNode Value)> entries = Entries(mapping, key + ".", _stepKeys);
            string? type = commandOnly && !entries.ContainsKey("type") ? "command" : RequiredString(mapping, entries, "type", key + ".");
            if (commandOnly && type is "apply" or "idempotency" or "tempest")
            {
                return Fail(entries["type"].Value.Start, key + ".type", type,
                    "command: seed and verify lists hold command steps (apply, idempotency and tempest belong under steps)");
            }

            StepKind? kind = type switch
            {
                "apply" => StepKind.Apply,
                "idempotency" => StepKind.Idempotency,
                "command" => StepKind.Command,
                "tempest" => StepKind.Tempest,
                _ => null,
            };
            if (type is not null && kind is null)
            {
                Error(entries["type"].Value.Start, key + ".type", type, $"a step type: {StepTypes}");
            }

            List<string> command = [];
            if (entries.TryGetValue("command", out (YamlNode Key, YamlNode Value) commandEntry))
            {
                if (kind is StepKind.Apply or StepKind.Idempotency or StepKind.Tempest)
                {
                    Error(commandEntry.Key.Start, key + ".command", Describe(commandEntry.Value), "no command: only type: command steps run one");
                }
                else
                {
                    command = StringList(commandEntry.Value, key + ".command", "a non-empty argument list like [test, -f, /etc/keystone/keystone.conf]")?
                        .Select(item => item.Text).ToList() ?? [];
                    if (command.Any(string.IsNullOrWhiteSpace))
                    {
                        Error(commandEntry.Value.Start, key + ".command", string.Join(' ', command), "non-empty arguments");
                    }
                }
            }
            else if (kind == StepKind.Command)
            {
                Error(mapping.Start, key + ".command", null, "an argument list like [test, -f, /etc/keystone/keystone.conf]");
            }

            TimeSpan timeout = kind switch
            {
                StepKind.Command => DefaultCommandTimeout,
                StepKind.Tempest => DefaultTempestTimeout,
                _ => DefaultApplyTimeout,
            };
            if (entries.TryGetValue("timeout", out (YamlNode Key, YamlNode Value) timeoutEntry))
            {
                string text = Scalar(timeoutEntry.Value) ?? Describe(timeoutEntry.Value);
                if (!Duration.TryParse(text, out timeout) || timeout <= TimeSpan.Zero)
                {
                    Error(timeoutEntry.Value.Start, key + ".timeout", text, Duration.Expected + ", longer than zero");
                }
            }

            bool noop = ReadBool(entries, "noop", defaultValue: false, key + ".noop");
            if (noop && kind is StepKind.Command or StepKind.Tempest)
            {
                Error(entries["noop"].Key.Start, key + ".noop", "true", "no noop: only apply and idempotency steps take it");
            }

            TempestSettings? tempest = null;
            if (kind == StepKind.Tempest)
            {
                tempest = ReadTempest(entries, mapping.Start, key);
            }
            else
            {
                foreach (string tempestKey in _tempestKeys.Where(entries.ContainsKey))
                {
                    Error(entries[tempestKey].Key.Start, $"{key}.{tempestKey}", Describe(entries[tempestKey].Value), $"no {tempestKey}: only type: tempest steps take it");
                }
            }

            string? name = OptionalString(entries, "name", key + ".");
            if (kind is null || (kind == StepKind.Tempest && tempest is null))
            {
                return null;
            }

            name ??= kind switch
            {
                StepKind.Command => string.Join(' ', command),
                StepKind.Idempotency => "idempotency",
                StepKind.Tempest => "tempest",
                _ => "apply",
            };
            return new StepDefinition(kind.Value, name, command, timeout, noop) { Tempest = tempest };
        }

        /// <summary>
        /// A tempest step's <c>config</c>, <c>include</c>, <c>exclude</c> and <c>concurrency</c>, each defaulted when left
        /// out (<paramref name="entries"/> is null for the plain <c>- tempest</c>); null when any is wrong.
        /// </summary>
        private TempestSettings? ReadTempest(Dictionary<string, (YamlNode Key, YamlNode Value)>? entries, Mark at, string key)
        {
            int before = errors.Count;
            YamlNode? Value(string name) => entries is not null && entries.TryGetValue(name, out (YamlNode Key, YamlNode Value) entry) ? entry.Value : null;

            string config = TempestSettings.DefaultConfig;
            Mark configAt = at;
            if (Value("config") is { } configNode)
            {
                configAt = configNode.Start;
                config = Scalar(configNode) ?? "";
            }

            CheckTempestConfig(config, configAt, key);
            IReadOnlyList<string> include = Value("include") is { } includeNode ? Regexes(includeNode, key + ".include") : TempestSettings.DefaultInclude;
            IReadOnlyList<string> exclude = Value("exclude") is { } excludeNode ? Regexes(excludeNode, key + ".exclude") : [];

            int concurrency = TempestSettings.DefaultConcurrency;
            if (Value("concurrency") is { } concurrencyNode)
            {
                string text = Scalar(concurrencyNode) ?? Describe(concurrencyNode);
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out concurrency) || concurrency is < 1 or > 64)
                {
                    Error(concurrencyNode.Start, key + ".concurrency", text, "a whole number of Tempest workers from 1 to 64");
                }
            }

            return errors.Count > before ? null : new TempestSettings(config, include, exclude, concurrency);
        }

        /// <summary>
        /// A relative <c>config</c> is a file beside the scenario file, copied with it to <c>/cirunner/scenario/</c>; an
        /// absolute one is a path inside the container (a file Puppet writes, say), which only the job can check.
        /// </summary>
        private void CheckTempestConfig(string config, Mark at, string key)
        {
            if (config.Length == 0 || config.Any(char.IsWhiteSpace))
            {
                Error(at, key + ".config", config.Length == 0 ? "an empty value" : config,
                    "Tempest's configuration file: a path beside the scenario file (tempest.conf, copied with it) or an absolute path in the container");
                return;
            }

            if (config.StartsWith('/'))
            {
                return;
            }

            string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            string full = Path.GetFullPath(Path.Combine(folder, config));
            string relative = Path.GetRelativePath(folder, full);
            if (Path.IsPathRooted(config) || relative.StartsWith("..", StringComparison.Ordinal) || relative == ".")
            {
                Error(at, key + ".config", config, "a path relative to the scenario file's folder, inside it (no ..), or an absolute path in the container");
            }
            else if (!File.Exists(full))
            {
                Error(at, key + ".config", config,
                    $"an existing Tempest configuration file beside the scenario file ({full} does not exist), or an absolute path in the container");
            }
            else
            {
                _tempestConfigs.Add(full);
            }
        }

        /// <summary>An include or exclude list: test id regexes as stestr reads them, one per line of a list file.</summary>
        private List<string> Regexes(YamlNode node, string key)
        {
            var regexes = new List<string>();
            foreach ((string text, Mark at) in StringList(node, key, "a non-empty list of regular expressions matching Tempest test ids, like ['^tempest\\.api\\.identity\\.']") ?? [])
            {
                // stestr reads everything after a '#' as a comment, and strips the rest: such a regex would silently change.
                if (text.Trim().Length == 0 || text.Contains('#', StringComparison.Ordinal) || text != text.Trim())
                {
                    Error(at, key, text, "a regular expression without '#' (stestr reads the rest of the line as a comment) and without spaces around it");
                    continue;
                }

                try
                {
                    _ = new Regex(text, RegexOptions.None, TimeSpan.FromSeconds(1));
                    regexes.Add(text);
                }
                catch (ArgumentException e)
                {
                    Error(at, key, text, $"a regular expression ({e.Message})");
                }
            }

            return regexes;
        }

        private bool ReadBool(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key, bool defaultValue, string? errorKey = null)
        {
            if (!entries.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry))
            {
                return defaultValue;
            }

            string? text = Scalar(entry.Value);
            if (bool.TryParse(text, out bool value))
            {
                return value;
            }

            Error(entry.Value.Start, errorKey ?? key, text ?? Describe(entry.Value), "true or false");
            return defaultValue;
        }

        private Dictionary<string, (YamlNode Key, YamlNode Value)> Entries(YamlMappingNode mapping, string prefix, string[] known)
        {
            var entries = new Dictionary<string, (YamlNode Key, YamlNode Value)>(StringComparer.Ordinal);
            foreach ((YamlNode key, YamlNode value) in mapping.Children)
            {
                string name = Scalar(key) ?? Describe(key);
                if (!known.Contains(name, StringComparer.Ordinal))
                {
                    Error(key.Start, prefix + name, name, $"one of the keys {string.Join(", ", known)}");
                    continue;
                }

                // YamlDotNet rejects duplicate keys itself, so TryAdd only guards against its behaviour changing.
                entries.TryAdd(name, (key, value));
            }

            return entries;
        }

        private string? RequiredString(YamlMappingNode mapping, Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key, string prefix = "")
        {
            if (!entries.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry))
            {
                Error(mapping.Start, prefix + key, null, $"a {key}");
                return null;
            }

            string? value = OptionalString(entries, key, prefix);
            if (value is not null && value.Trim().Length == 0)
            {
                Error(entry.Value.Start, prefix + key, value, $"a non-empty {key}");
                return null;
            }

            return value;
        }

        private string? OptionalString(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key, string prefix = "")
        {
            if (!entries.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry))
            {
                return null;
            }

            string? value = Scalar(entry.Value);
            if (value is null)
            {
                Error(entry.Value.Start, prefix + key, Describe(entry.Value), "a text value");
            }

            return value;
        }

        private List<(string Text, Mark At)>? StringList(YamlNode node, string key, string expected)
        {
            if (node is not YamlSequenceNode sequence || sequence.Children.Count == 0)
            {
                Error(node.Start, key, Describe(node), expected);
                return null;
            }

            var items = new List<(string Text, Mark At)>();
            foreach (YamlNode child in sequence.Children)
            {
                string? text = Scalar(child);
                if (text is null)
                {
                    Error(child.Start, key, Describe(child), expected);
                }
                else
                {
                    items.Add((text, child.Start));
                }
            }

            return items;
        }

        // A plain empty scalar (`key:`) or `~` is YAML's null: treated as "no value", never as an empty string.
        private static string? Scalar(YamlNode node) =>
            node is YamlScalarNode scalar && !(scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is "" or "~" or "null" or null)
                ? scalar.Value
                : null;

        private static string Describe(YamlNode node) => node switch
        {
            YamlScalarNode scalar when string.IsNullOrEmpty(scalar.Value) || scalar.Value is "~" or "null" => "an empty value",
            YamlScalarNode scalar => scalar.Value!,
            YamlSequenceNode { Children.Count: 0 } => "[]",
            YamlSequenceNode => "a list",
            YamlMappingNode => "a mapping",
            _ => "an alias",
        };

        private static int LineOf(Mark mark) => Math.Max(1, (int)mark.Line);

        private StepDefinition? Fail(Mark at, string key, string value, string expected)
        {
            Error(at, key, value, expected);
            return null;
        }

        private void Error(Mark at, string key, string? value, string expected)
        {
            string location = key.Length == 0 ? $"line {LineOf(at)}" : $"line {LineOf(at)}, {key}";
            errors.Add(new ConfigurationError(path, location, value, expected));
        }
    }
}
