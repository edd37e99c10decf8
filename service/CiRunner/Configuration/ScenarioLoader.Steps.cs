using System.Globalization;
using System.Text.RegularExpressions;
using CiRunner.Matrix;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CiRunner.Configuration;

// The steps of a scenario: steps (apply, idempotency, command, tempest), seed and verify, and a tempest step's settings.
public static partial class ScenarioLoader
{
    private sealed partial class FileReader
    {
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
                timeout = Reader.Duration(Raw(timeoutEntry.Value, key + ".timeout"), Duration.Expected + ", longer than zero", t => t > TimeSpan.Zero) ?? timeout;
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
            int before = Reader.Errors.Count;
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
                concurrency = Reader.WholeNumber(Raw(concurrencyNode, key + ".concurrency"), "a whole number of Tempest workers from 1 to 64", 1, 64, NumberStyles.None) ?? concurrency;
            }

            return Reader.Errors.Count > before ? null : new TempestSettings(config, include, exclude, concurrency);
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

            string folder = Path.GetDirectoryName(Path.GetFullPath(FilePath))!;
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

        private StepDefinition? Fail(Mark at, string key, string value, string expected)
        {
            Error(at, key, value, expected);
            return null;
        }
    }
}
