using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace CiRunner.Configuration;

/// <summary>
/// The YAML side of <see cref="ErrorCollectingReader"/>: loads a file into nodes, and reads mappings, scalars and lists
/// of one file with every error located as <c>line N, key</c>. A schema (scenario files) derives from it and says
/// which keys exist and what they hold.
/// </summary>
internal class YamlNodeReader(string path, ErrorCollectingReader reader)
{
    /// <summary>The file being read.</summary>
    protected string FilePath => path;

    /// <summary>The shared reader; its error count tells whether a part of the file had errors.</summary>
    protected ErrorCollectingReader Reader => reader;

    /// <summary>
    /// Parses <paramref name="file"/>; null, with the error reported (line, message), when it is not valid YAML or
    /// cannot be read.
    /// </summary>
    public static YamlStream? Load(string file, ErrorCollectingReader reader)
    {
        var stream = new YamlStream();
        MarkTrackingParser? parser = null;
        try
        {
            using var text = new StreamReader(file);
            parser = new MarkTrackingParser(new Parser(text));
            stream.Load(parser);
            return stream;
        }
        catch (YamlException e)
        {
            reader.Error(new ValueLocation(file, $"line {e.Start.Line}"), OneLine(e.Message), "valid YAML");
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this without a position for some truncated flow collections ("[a, b" at
            // the end of the file); the last event it produced is the best position there is.
            long line = parser?.LastMark.Line ?? 1;
            reader.Error(new ValueLocation(file, $"line {line}"), OneLine(e.Message), "valid YAML (is a [ or { left unclosed?)");
        }
        catch (IOException e)
        {
            reader.Error(new ValueLocation(file, "file"), null, $"a readable scenario file ({e.Message})");
        }

        return null;
    }

    protected bool ReadBool(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key, bool defaultValue, string? errorKey = null) =>
        entries.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry) ? reader.Bool(Raw(entry.Value, errorKey ?? key)) ?? defaultValue : defaultValue;

    /// <summary>The entries of a mapping by key; keys not in <paramref name="known"/> are reported and left out.</summary>
    protected Dictionary<string, (YamlNode Key, YamlNode Value)> Entries(YamlMappingNode mapping, string prefix, string[] known)
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

    protected string? RequiredString(YamlMappingNode mapping, Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key, string prefix = "")
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

    protected string? OptionalString(Dictionary<string, (YamlNode Key, YamlNode Value)> entries, string key, string prefix = "") =>
        entries.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry) ? reader.Text(Raw(entry.Value, prefix + key), _ => true, "a text value") : null;

    /// <summary>A non-empty list of scalars, each with where it is; null (and an error) when the node is not one.</summary>
    protected List<(string Text, Mark At)>? StringList(YamlNode node, string key, string expected)
    {
        if (node is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            Error(node.Start, key, Describe(node), expected);
            return null;
        }

        var items = new List<(string Text, Mark At)>();
        foreach (YamlNode child in sequence.Children)
        {
            if (reader.Text(Raw(child, key), _ => true, expected) is { } text)
            {
                items.Add((text, child.Start));
            }
        }

        return items;
    }

    /// <summary>A node as the shared reader reads it: its scalar text (or how to show it), located at its line and <paramref name="key"/>.</summary>
    protected RawValue Raw(YamlNode node, string key) => new(Scalar(node), Describe(node), At(node.Start, key));

    // A plain empty scalar (`key:`) or `~` is YAML's null: treated as "no value", never as an empty string.
    protected static string? Scalar(YamlNode node) =>
        node is YamlScalarNode scalar && !(scalar.Style == ScalarStyle.Plain && scalar.Value is "" or "~" or "null" or null)
            ? scalar.Value
            : null;

    protected static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar when string.IsNullOrEmpty(scalar.Value) || scalar.Value is "~" or "null" => "an empty value",
        YamlScalarNode scalar => scalar.Value!,
        YamlSequenceNode { Children.Count: 0 } => "[]",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an alias",
    };

    protected static int LineOf(Mark mark) => Math.Max(1, (int)mark.Line);

    protected void Error(Mark at, string key, string? value, string expected) => reader.Error(At(at, key), value, expected);

    private ValueLocation At(Mark at, string key) => new(path, key.Length == 0 ? $"line {LineOf(at)}" : $"line {LineOf(at)}, {key}");

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
}
