namespace CiRunner.Configuration;

// Docker:Engines, the engine pool: each entry bound and validated as a section of its own, then checked across the pool
// (names and endpoints unique) and against the single-engine keys it replaces. Its Releases are checked in Load, once
// the Releases list is read.
public static partial class ConfigurationLoader
{
    private const string EnginesKey = $"{DockerOptions.SectionName}:{nameof(DockerOptions.Engines)}";
    private const string EnginesExpected = "a JSON array of engines, each with Name, Endpoint and optionally TlsCertDirectory, Capacity and Releases";

    private static readonly string[] _engineKeys = OptionsBinder.KeysOf<EngineOptions>();

    /// <summary>
    /// Reads <c>Docker:Engines</c> into <see cref="DockerOptions.Engines"/> and, for a pool, points
    /// <see cref="DockerOptions.Endpoint"/> and <see cref="DockerOptions.TlsCertDirectory"/> at its first engine (what the
    /// command-line verbs and /healthz use). Adds each <c>Releases</c> item with its key to <paramref name="releaseItems"/>.
    /// False when there is no pool: the key is absent or <c>[]</c>, and the single engine is <c>Docker:Endpoint</c>.
    /// </summary>
    private static bool ReadEngines(ConfigurationReader reader, DockerOptions docker, string baseDirectory, List<(string Release, string Key)> releaseItems)
    {
        if (!reader.IsPresent(EnginesKey))
        {
            return false;
        }

        List<IConfigurationSection> entries = reader.Entries(EnginesKey, EnginesExpected);
        if (entries.Count == 0)
        {
            return false;
        }

        RejectWithEngines(reader, nameof(DockerOptions.Endpoint), "each engine names its own Endpoint: move it into an entry of Docker:Engines");
        RejectWithEngines(reader, nameof(DockerOptions.TlsCertDirectory), "each engine names its own TlsCertDirectory: move it into the entries whose engines use TLS");

        var nameUsedBy = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var endpointUsedBy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IConfigurationSection entry in entries)
        {
            string key = entry.Path;
            if (!reader.RejectUnknownKeys(key, _engineKeys))
            {
                continue;
            }

            string nameKey = $"{key}:{nameof(EngineOptions.Name)}";
            string endpointKey = $"{key}:{nameof(EngineOptions.Endpoint)}";
            EngineOptions engine = OptionsBinder.Bind(reader, key, new EngineOptionsValidator(), bound =>
            {
                bound.TlsCertDirectory = CheckTlsCertDirectory(reader, $"{key}:{nameof(EngineOptions.TlsCertDirectory)}", bound.TlsCertDirectory, endpointKey, bound.Endpoint, baseDirectory);
                bound.Releases = ReadEngineReleases(reader, $"{key}:{nameof(EngineOptions.Releases)}", releaseItems);
            });

            if (!reader.IsReported(nameKey) && !nameUsedBy.TryAdd(engine.Name, key))
            {
                reader.Error(nameKey, engine.Name, $"an engine name not used before in Docker:Engines (already used by {nameUsedBy[engine.Name]})");
            }

            if (!reader.IsReported(endpointKey) && !endpointUsedBy.TryAdd(SameEngine(engine.Endpoint), key))
            {
                reader.Error(endpointKey, engine.Endpoint,
                    $"an engine not already in Docker:Engines ({endpointUsedBy[SameEngine(engine.Endpoint)]} has it; two entries on one engine would run twice its capacity there: raise that entry's Capacity instead)");
            }

            docker.Engines.Add(engine);
        }

        if (docker.Engines.Count > 0)
        {
            docker.Endpoint = docker.Engines[0].Endpoint;
            docker.TlsCertDirectory = docker.Engines[0].TlsCertDirectory;
        }

        return true;
    }

    /// <summary>Reports <c>Docker:&lt;key&gt;</c> when it is set next to a pool, which would leave unclear which engine it meant.</summary>
    private static void RejectWithEngines(ConfigurationReader reader, string key, string fix)
    {
        string fullKey = $"{DockerOptions.SectionName}:{key}";
        if (reader.Raw(fullKey) is { } raw)
        {
            reader.Error(fullKey, raw.Text ?? raw.Shown, $"no value with Docker:Engines: {fix}");
        }
    }

    /// <summary>An engine's release names as written, each once; absent or <c>[]</c> is every release.</summary>
    private static List<string> ReadEngineReleases(ConfigurationReader reader, string key, List<(string Release, string Key)> releaseItems)
    {
        List<(string Text, string Key)>? items = reader.StringItems(key,
            "a JSON array of release names from Releases, like [\"2024.1\", \"2024.2\"] ([] or no Releases: every release)",
            name => name.Length > 0, "a release name from Releases, like 2024.1");
        if (items is null)
        {
            return [];
        }

        releaseItems.AddRange(items);
        List<string> names = items.ConvertAll(item => item.Text);
        AddDuplicateErrors(reader, key, names, "each release once");
        return names;
    }

    /// <summary>
    /// Reports each engine's release that is not in <paramref name="releases"/>: a typo would leave the engine with
    /// nothing to run, silently. Skipped when Releases itself is wrong (every name would look unknown).
    /// </summary>
    private static void CheckEngineReleases(ConfigurationReader reader, List<(string Release, string Key)> releaseItems, List<ReleaseOptions?> releases, bool releasesValid)
    {
        if (!releasesValid)
        {
            return;
        }

        string[] known = [.. releases.OfType<ReleaseOptions>().Select(r => r.Name)];
        foreach ((string release, string key) in releaseItems.Where(item => !known.Contains(item.Release, StringComparer.Ordinal)))
        {
            reader.Error(key, release, $"a release configured in Releases: {string.Join(", ", known)} (leave Releases out, or [], for every release)");
        }
    }

    // tcp://HOST:2376 and tcp://host:2376/ are one engine; Uri lower-cases the host and adds the empty path.
    private static string SameEngine(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) ? uri.AbsoluteUri : endpoint;
}
