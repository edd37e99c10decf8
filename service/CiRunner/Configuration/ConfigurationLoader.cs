using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>
/// The one door from configuration to settings: reads <c>appsettings.json</c> (overridden by <c>CIRUNNER__</c>
/// environment variables), the release Puppetfiles and the scenario files, and returns validated
/// <see cref="CiRunnerSettings"/> or every error at once. Used by <c>validate</c> and by <c>serve</c> at start.
/// </summary>
public static partial class ConfigurationLoader
{
    /// <summary>Environment variables with this prefix override the file: <c>CIRUNNER__Docker__ParallelJobs=4</c>.</summary>
    public const string EnvironmentPrefix = "CIRUNNER__";

    /// <summary>The configuration sources every verb uses: the file, then <c>CIRUNNER__</c> environment variables.</summary>
    public static IConfigurationRoot BuildConfiguration(string configFile)
    {
        return new ConfigurationBuilder()
            .AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false)
            .AddEnvironmentVariables(EnvironmentPrefix)
            .Build();
    }

    /// <summary>Reads the file and the environment and validates everything; I/O and JSON errors become errors too.</summary>
    public static ConfigurationLoadResult Load(string configFile)
    {
        string fullPath = Path.GetFullPath(configFile);
        if (!File.Exists(fullPath))
        {
            return Failed(fullPath, new ConfigurationError(fullPath, "file", null,
                "a configuration file; pass --config FILE or set CIRUNNER_CONFIG (the default is ./appsettings.json)"));
        }

        IConfigurationRoot configuration;
        try
        {
            configuration = BuildConfiguration(fullPath);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException or UnauthorizedAccessException)
        {
            return Failed(fullPath, JsonError(fullPath, e));
        }

        return Load(configuration, fullPath);
    }

    /// <summary>
    /// Only the <c>Releases</c> section, validated key by key as <see cref="Load(IConfiguration, string)"/> validates it
    /// (Suite, Init, PackageSnapshot included), without reading Puppetfiles or scenarios: what <c>images build</c>
    /// needs, so an image build neither depends on the module mirrors nor stops at a binder exception.
    /// </summary>
    public static (IReadOnlyList<ReleaseOptions> Releases, IReadOnlyList<ConfigurationError> Errors) LoadReleases(IConfiguration configuration, string configFile)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var reader = new ConfigurationReader(configuration, Path.GetFullPath(configFile));
        List<ReleaseOptions?> releases = ReadReleases(reader);
        return (releases.OfType<ReleaseOptions>().ToList(), reader.Errors);
    }

    /// <summary>
    /// Validates an already built configuration. <paramref name="configFile"/> anchors relative paths and names
    /// the file in errors; it need not be where <paramref name="configuration"/> came from (tests use memory).
    /// </summary>
    public static ConfigurationLoadResult Load(IConfiguration configuration, string configFile)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string fullPath = Path.GetFullPath(configFile);
        string baseDirectory = Path.GetDirectoryName(fullPath)!;
        var reader = new ConfigurationReader(configuration, fullPath);

        string apiTokenVariable = configuration[$"{HttpOptions.SectionName}:{nameof(HttpOptions.ApiTokenVariable)}"] ?? new HttpOptions().ApiTokenVariable;
        reader.RejectSecrets(apiTokenVariable);

        ServiceOptions service = ReadService(reader, baseDirectory);
        DockerOptions docker = ReadDocker(reader, baseDirectory, out List<(string Release, string Key)> engineReleases);
        ScheduleOptions schedule = ReadSection(reader, ScheduleOptions.SectionName, new ScheduleOptionsValidator());
        HttpOptions http = ReadHttp(reader, baseDirectory);
        StoreOptions store = ReadStore(reader, baseDirectory);
        RetentionOptions retention = ReadSection(reader, RetentionOptions.SectionName, new RetentionOptionsValidator());
        ReportingOptions reporting = ReadReporting(reader, baseDirectory);
        SnapshotOptions snapshots = ReadSection(reader, SnapshotOptions.SectionName, new SnapshotOptionsValidator());
        BisectOptions bisect = ReadSection(reader, BisectOptions.SectionName, new BisectOptionsValidator());
        FlakeOptions flakes = ReadSection(reader, FlakeOptions.SectionName, new FlakeOptionsValidator());
        List<TrackedModule> modules = ReadModules(reader, baseDirectory);

        int errorsBeforeReleases = reader.Errors.Count;
        List<ReleaseOptions?> releaseOptions = ReadReleases(reader);
        bool releasesValid = reader.Errors.Count == errorsBeforeReleases;
        CheckEngineReleases(reader, engineReleases, releaseOptions, releasesValid);

        var fileErrors = new List<ConfigurationError>();
        var releases = new List<Release>();
        bool scenariosDirectoryExists = Directory.Exists(service.ScenariosDirectory);
        var scenarios = new List<Scenario>();
        if (scenariosDirectoryExists)
        {
            releasesValid &= LoadPuppetfiles(reader, releaseOptions, service.ScenariosDirectory, releases, fileErrors);

            // With broken releases, cross-checks would only echo those errors as "unknown release" noise.
            ScenarioLoadResult loaded = ScenarioLoader.Load(service.ScenariosDirectory, releasesValid ? releases : null);
            scenarios.AddRange(loaded.Scenarios);
            fileErrors.AddRange(loaded.Errors);
        }

        MatrixRules matrix = releasesValid && scenariosDirectoryExists
            ? ReadMatrix(reader, releases, fileErrors.Count == 0 ? scenarios : null)
            : MatrixRules.Empty;

        // Scenario names in Gerrit:NonVotingScenarios are checked only against a complete list of scenarios.
        GerritOptions? gerrit = ReadGerrit(reader, modules, scenariosDirectoryExists && fileErrors.Count == 0 ? scenarios : null, baseDirectory);

        var errors = reader.Errors.Concat(fileErrors).ToList();
        if (errors.Count > 0)
        {
            return new ConfigurationLoadResult(null, errors, fullPath);
        }

        var settings = new CiRunnerSettings
        {
            ConfigFile = fullPath,
            Service = service,
            DataPaths = new DataPaths(service.DataDirectory),
            Docker = docker,
            Schedule = schedule,
            Http = http,
            Store = store,
            Retention = retention,
            Reporting = reporting,
            Snapshots = snapshots,
            Bisect = bisect,
            Flakes = flakes,
            Gerrit = gerrit,
            Modules = modules,
            Releases = releases,
            Scenarios = scenarios,
            Matrix = matrix,
        };
        return new ConfigurationLoadResult(settings, [], fullPath);
    }

    /// <summary>
    /// For <c>serve</c> and other verbs: load, and on failure write every error (one per line) to
    /// <paramref name="errors"/> exactly as <c>validate</c> does.
    /// </summary>
    public static bool TryLoad(string configFile, TextWriter errors, [NotNullWhen(true)] out CiRunnerSettings? settings)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ConfigurationLoadResult result = Load(configFile);
        if (!result.Succeeded)
        {
            ConfigurationReport.WriteErrors(errors, result);
            settings = null;
            return false;
        }

        settings = result.Settings;
        return true;
    }

    private static ConfigurationLoadResult Failed(string configFile, ConfigurationError error) => new(null, [error], configFile);

    private static ConfigurationError JsonError(string configFile, Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is JsonException { LineNumber: long line } json)
            {
                return new ConfigurationError(configFile, $"line {line + 1}", FirstSentence(json.Message), "valid JSON (comments and trailing commas are allowed)");
            }
        }

        Exception innermost = e;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return new ConfigurationError(configFile, "file", FirstSentence(innermost.Message), "a readable JSON configuration file with unique keys");
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).Trim();
    }
}
