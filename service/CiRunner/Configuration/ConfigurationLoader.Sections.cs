using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

// The sections whose rules are on their options classes (Service, Docker, Http, and Schedule and Retention in Load), and the
// checks on them that need the file system: directories, TLS certificates, secret files.
public static partial class ConfigurationLoader
{

    /// <summary>
    /// Binds and validates a section whose rules are on its options class, then runs <paramref name="check"/> (what
    /// needs the file system); unknown keys are reported first. Absent, the section is the defaults; a plain value
    /// instead of an object is reported, and is the defaults too.
    /// </summary>
    private static T ReadSection<T>(ConfigurationReader reader, string section, IValidateOptions<T> validator, Action<T>? check = null)
        where T : class, new() => TryReadSection(reader, section, validator, check) ?? new T();

    /// <summary>As <see cref="ReadSection"/>, but null when the section is a plain value rather than an object.</summary>
    private static T? TryReadSection<T>(ConfigurationReader reader, string section, IValidateOptions<T> validator, Action<T>? check = null)
        where T : class, new() =>
        reader.RejectUnknownKeys(section, OptionsBinder.KeysOf<T>()) ? OptionsBinder.Bind(reader, section, validator, check) : null;

    private static ServiceOptions ReadService(ConfigurationReader reader, string baseDirectory) =>
        ReadSection(reader, ServiceOptions.SectionName, new ServiceOptionsValidator(), service =>
        {
            string scenariosKey = $"{ServiceOptions.SectionName}:{nameof(ServiceOptions.ScenariosDirectory)}";
            string scenariosFull = Path.GetFullPath(Path.Combine(baseDirectory, service.ScenariosDirectory));
            if (!reader.IsReported(scenariosKey) && !Directory.Exists(scenariosFull))
            {
                reader.Error(scenariosKey, service.ScenariosDirectory, $"an existing directory of scenario files ({scenariosFull} does not exist)");
            }

            // Not required to exist: without recipes a missing image fails its job with the command that builds it.
            service.DataDirectory = Path.GetFullPath(Path.Combine(baseDirectory, service.DataDirectory));
            service.ScenariosDirectory = scenariosFull;
            service.ImageRecipesDirectory = Path.GetFullPath(Path.Combine(baseDirectory, service.ImageRecipesDirectory));
        });

    /// <summary>
    /// The <c>Docker</c> section with its engine pool (<see cref="ReadEngines"/>). <paramref name="engineReleases"/> are the
    /// pool's <c>Releases</c> items with their keys, checked once <c>Releases</c> is read.
    /// </summary>
    private static DockerOptions ReadDocker(ConfigurationReader reader, string baseDirectory, out List<(string Release, string Key)> engineReleases)
    {
        var releases = new List<(string Release, string Key)>();
        DockerOptions docker = ReadSection(reader, DockerOptions.SectionName, new DockerOptionsValidator(), bound =>
        {
            bound.DropCapabilities = [.. bound.DropCapabilities.Select(OptionValues.CapabilityName).Distinct(StringComparer.Ordinal)];

            // With a pool, Docker:TlsCertDirectory is refused as such rather than checked against an endpoint nobody set.
            if (!ReadEngines(reader, bound, baseDirectory, releases))
            {
                const string Section = DockerOptions.SectionName;
                bound.TlsCertDirectory = CheckTlsCertDirectory(reader, $"{Section}:{nameof(DockerOptions.TlsCertDirectory)}", bound.TlsCertDirectory,
                    $"{Section}:{nameof(DockerOptions.Endpoint)}", bound.Endpoint, baseDirectory);
            }
        });
        engineReleases = releases;
        return docker;
    }

    /// <summary>
    /// The TLS certificate directory, made absolute, once its three files exist and load; null when not configured or wrong.
    /// <paramref name="endpointKey"/> is the key of the endpoint it is for (<c>Docker:Endpoint</c>, <c>Docker:Engines:1:Endpoint</c>).
    /// </summary>
    private static string? CheckTlsCertDirectory(ConfigurationReader reader, string key, string? directory, string endpointKey, string endpoint, string baseDirectory)
    {
        if (directory is null || reader.IsReported(key))
        {
            return null;
        }

        // A wrong endpoint is reported at its own key; judged by its fallback, the directory would be wrong too.
        if (!reader.IsReported(endpointKey) && !endpoint.StartsWith("tcp://", StringComparison.Ordinal))
        {
            reader.Error(key, directory, $"no value with {endpointKey} '{endpoint}': TLS client certificates apply to tcp://host:2376 endpoints only");
            return null;
        }

        string full = Path.GetFullPath(Path.Combine(baseDirectory, directory));
        string[] missing = [.. DockerTlsDirectory.Files.Where(file => !File.Exists(Path.Combine(full, file)))];
        if (missing.Length > 0)
        {
            reader.Error(key, directory, $"a directory with {string.Join(", ", DockerTlsDirectory.Files)} (missing in {full}: {string.Join(", ", missing)})");
            return null;
        }

        if (DockerTlsDirectory.Problem(full) is { } problem)
        {
            reader.Error(key, directory, $"PEM files a TLS client can use ({problem})");
            return null;
        }

        return full;
    }

    private static HttpOptions ReadHttp(ConfigurationReader reader, string baseDirectory) =>
        ReadSection(reader, HttpOptions.SectionName, new HttpOptionsValidator(), http =>
        {
            const string Section = HttpOptions.SectionName;
            http.ApiTokenFile = CheckSecretFile(reader, $"{Section}:ApiTokenFile", http.ApiTokenFile, $"{Section}:ApiTokenVariable", baseDirectory);
            http.PublicUrl = http.PublicUrl?.TrimEnd('/') ?? DerivePublicUrl(http.Listen);
        });

    private static StoreOptions ReadStore(ConfigurationReader reader, string baseDirectory) =>
        ReadSection(reader, StoreOptions.SectionName, new StoreOptionsValidator(), store =>
        {
            const string Section = StoreOptions.SectionName;
            string fileKey = $"{Section}:{nameof(StoreOptions.ConnectionStringFile)}";
            string variableKey = $"{Section}:{nameof(StoreOptions.ConnectionStringVariable)}";
            store.ConnectionStringFile = CheckSecretFile(reader, fileKey, store.ConnectionStringFile, variableKey, baseDirectory);
            if (!store.IsPostgreSql || reader.IsReported(fileKey) || reader.IsReported(variableKey) || reader.IsReported($"{Section}:{nameof(StoreOptions.Provider)}"))
            {
                return;
            }

            // Without it the service could not store anything: say so now, not at the first write.
            if (store.ConnectionStringFile is { } file && store.ConnectionString.Read() is null)
            {
                reader.Error(fileKey, file, "a file holding the PostgreSQL connection string, like Host=db.example.org;Database=cirunner;Username=cirunner;Password=... (it is empty)");
            }
            else if (store.ConnectionStringFile is null && store.ConnectionString.Read() is null)
            {
                reader.Error(variableKey, store.ConnectionStringVariable,
                    $"the name of a set environment variable holding the PostgreSQL connection string ({store.ConnectionStringVariable} is not set: export {store.ConnectionStringVariable}='Host=...;Database=cirunner;Username=cirunner;Password=...')");
            }
        });

    /// <summary>
    /// A secret file's key: relative to the configuration file's folder, exclusive with its variable key, and the file
    /// itself must be safe (<see cref="SecretValues.CheckFile"/>). Null when unset or wrong.
    /// </summary>
    private static string? ReadSecretFile(ConfigurationReader reader, string fileKey, string variableKey, string baseDirectory, string what)
    {
        string? file = reader.String(fileKey, null, OptionValues.IsPath, $"the path of a file holding {what}, readable only by the service's user");
        return CheckSecretFile(reader, fileKey, file, variableKey, baseDirectory);
    }

    /// <summary>A secret file as read from <paramref name="fileKey"/>, checked as <see cref="ReadSecretFile"/> says; null when unset or wrong.</summary>
    private static string? CheckSecretFile(ConfigurationReader reader, string fileKey, string? file, string variableKey, string baseDirectory)
    {
        if (file is null || reader.IsReported(fileKey))
        {
            return null;
        }

        if (reader.IsPresent(variableKey))
        {
            reader.Error(fileKey, file, $"either {variableKey} or {fileKey}, not both: remove one of them");
            return null;
        }

        string full = Path.GetFullPath(Path.Combine(baseDirectory, file));
        if (SecretValues.CheckFile(full) is { } problem)
        {
            reader.Error(fileKey, file, problem);
            return null;
        }

        return full;
    }
}
