using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The appsettings.json a test gives the service, built by key paths as the configuration binder reads them:
/// <c>.Set("Docker:ParallelJobs", 2)</c>, <c>.Set("Modules:0:Branches", new[] { "master" })</c>. Missing sections and
/// array items are created on the way; a null value removes the key. <see cref="WriteTo"/> writes the JSON the service reads.
/// </summary>
public sealed class TestConfiguration
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly JsonObject _root;

    public TestConfiguration()
        : this(new JsonObject())
    {
    }

    private TestConfiguration(JsonObject root)
    {
        _root = root;
    }

    /// <summary>Starts from JSON text (an appsettings.json someone wrote), to change a few keys of it.</summary>
    public static TestConfiguration Parse(string json) =>
        new(JsonNode.Parse(json)?.AsObject() ?? throw new ArgumentException("The configuration JSON is null.", nameof(json)));

    /// <summary>
    /// Sets the key at <paramref name="path"/> (sections and array indexes separated by ':') to <paramref name="value"/>:
    /// a string, number, bool or <see cref="TimeSpan"/>, a string array, a <see cref="JsonNode"/>, or null to remove it.
    /// </summary>
    public TestConfiguration Set(string path, object? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string[] parts = path.Split(':');
        JsonNode parent = _root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            parent = Child(parent, parts[i], createAs: IsIndex(parts[i + 1]) ? new JsonArray() : new JsonObject(), path);
        }

        string key = parts[^1];
        JsonNode? node = ToNode(value);
        if (parent is JsonArray array)
        {
            int index = Index(key, path);
            if (node is null)
            {
                array.RemoveAt(index);
            }
            else if (index == array.Count)
            {
                array.Add(node);
            }
            else
            {
                array[index] = node;
            }
        }
        else if (node is null)
        {
            parent.AsObject().Remove(key);
        }
        else
        {
            parent[key] = node;
        }

        return this;
    }

    /// <summary>Appends a tracked module (<c>Modules:n</c>).</summary>
    public TestConfiguration AddModule(string name, string url, params string[] branches) =>
        Append("Modules", new JsonObject { ["Name"] = name, ["Url"] = url, ["Branches"] = ToNode(branches) });

    /// <summary>Appends a release (<c>Releases:n</c>), oldest first as the service orders them.</summary>
    public TestConfiguration AddRelease(string name, string image, params string[] branches) =>
        Append("Releases", new JsonObject { ["Name"] = name, ["Branches"] = ToNode(branches), ["Image"] = image });

    /// <summary>The node at <paramref name="path"/>; fails naming the path when it is not there.</summary>
    public JsonNode Get(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        JsonNode node = _root;
        foreach (string part in path.Split(':'))
        {
            node = (node is JsonArray array ? array[Index(part, path)] : node[part])
                ?? throw new KeyNotFoundException($"The test configuration has no '{path}' (no '{part}').");
        }

        return node;
    }

    public string ToJson() => _root.ToJsonString(Indented);

    /// <summary>Writes the JSON to <paramref name="file"/> (its folder is created) and returns the file's path.</summary>
    public string WriteTo(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        File.WriteAllText(file, ToJson());
        return file;
    }

    public override string ToString() => ToJson();

    private TestConfiguration Append(string arrayPath, JsonObject item)
    {
        int count = _root[arrayPath] is JsonArray array ? array.Count : 0;
        return Set($"{arrayPath}:{count.ToString(CultureInfo.InvariantCulture)}", item);
    }

    private static JsonNode Child(JsonNode parent, string part, JsonNode createAs, string path)
    {
        if (parent is JsonArray array)
        {
            int index = Index(part, path);
            if (index == array.Count)
            {
                array.Add(createAs);
            }

            return array[index] ?? throw new InvalidOperationException($"'{path}': item {index} is null.");
        }

        JsonObject section = parent.AsObject();
        if (section[part] is not { } child)
        {
            child = createAs;
            section[part] = child;
        }

        return child;
    }

    private static bool IsIndex(string part) => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static int Index(string part, string path) =>
        int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            ? index
            : throw new ArgumentException($"'{path}': '{part}' is not an array index.", nameof(path));

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        int number => JsonValue.Create(number),
        long number => JsonValue.Create(number),
        double number => JsonValue.Create(number),
        TimeSpan span => JsonValue.Create(span.ToString("c", CultureInfo.InvariantCulture)),
        Uri uri => JsonValue.Create(uri.ToString()),
        IEnumerable<string> texts => new JsonArray(texts.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        _ => throw new ArgumentException($"A configuration value cannot be a {value.GetType().Name}.", nameof(value)),
    };
}
