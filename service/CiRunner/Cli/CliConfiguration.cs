using System.CommandLine;
using CiRunner.Configuration;

namespace CiRunner.Cli;

/// <summary>Reads the configuration sources a verb uses: the file, then <c>CIRUNNER__</c> environment variables.</summary>
internal static class CliConfiguration
{
    public const string EnvironmentPrefix = ConfigurationLoader.EnvironmentPrefix;

    public static IConfigurationRoot Build(string configFile) => ConfigurationLoader.BuildConfiguration(configFile);

    /// <summary>
    /// What the verbs that only need the engine (images) read of the <c>Docker</c> section: the endpoint and the TLS
    /// certificates, with a relative <c>TlsCertDirectory</c> taken from the configuration file's folder as <c>serve</c>
    /// takes it. Read key by key rather than bound, so a job setting the binder cannot parse (<c>JobTimeout: 2h</c>)
    /// does not stop an image build. With <c>Docker:Engines</c>, the first engine's, as <c>serve</c> and <c>validate</c> use.
    /// </summary>
    public static DockerOptions ReadDocker(string configFile)
    {
        IConfigurationRoot configuration = Build(configFile);

        // Index keys sort numerically, so the first child is the first engine (Docker:Engines:0).
        IConfigurationSection? firstEngine = configuration.GetSection($"{DockerOptions.SectionName}:{nameof(DockerOptions.Engines)}").GetChildren().FirstOrDefault();
        string section = firstEngine?.Path ?? DockerOptions.SectionName;
        string? Value(string key) => configuration[$"{section}:{key}"] is { Length: > 0 } value ? value : null;
        var docker = new DockerOptions();
        docker.Endpoint = Value(nameof(DockerOptions.Endpoint)) ?? docker.Endpoint;
        if (Value(nameof(DockerOptions.TlsCertDirectory)) is { } certificates)
        {
            docker.TlsCertDirectory = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configFile))!, certificates));
        }

        return docker;
    }

    /// <summary>
    /// One line for a configuration file <see cref="Build"/> could not read (not JSON, say): the file and the parser's
    /// own reason, which the outer exception leaves out.
    /// </summary>
    public static string Unreadable(string configFile, InvalidDataException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return $"--config: '{configFile}' cannot be read: {exception.GetBaseException().Message.ReplaceLineEndings(" ").TrimEnd('.')}; fix it ('cirunner validate' lists every error)";
    }

    /// <summary>The data directory layout, with relative paths taken from the configuration file's folder.</summary>
    public static DataPaths ReadDataPaths(ParseResult parseResult)
    {
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);
        string dataDirectory = ReadServiceValue(Build(configFile), nameof(ServiceOptions.DataDirectory)) ?? new ServiceOptions().DataDirectory;
        string baseDirectory = Path.GetDirectoryName(configFile)!;
        return new DataPaths(Path.Combine(baseDirectory, dataDirectory));
    }

    /// <summary>
    /// The <c>Store</c> section as written, key by key like <see cref="ReadDocker"/>, with a relative
    /// <c>ConnectionStringFile</c> taken from the configuration file's folder.
    /// </summary>
    public static StoreOptions ReadStore(ParseResult parseResult)
    {
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);
        IConfigurationRoot configuration = Build(configFile);
        string? Value(string key) => configuration[$"{StoreOptions.SectionName}:{key}"] is { Length: > 0 } value ? value : null;
        var store = new StoreOptions();
        store.Provider = Value(nameof(StoreOptions.Provider))?.ToLowerInvariant() ?? store.Provider;
        store.ConnectionStringVariable = Value(nameof(StoreOptions.ConnectionStringVariable)) ?? store.ConnectionStringVariable;
        if (Value(nameof(StoreOptions.ConnectionStringFile)) is { } file)
        {
            store.ConnectionStringFile = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(configFile)!, file));
        }

        return store;
    }

    /// <summary>
    /// One <c>Service</c> key as written. Read as text rather than bound: the binder cannot read CiRunner's durations
    /// (<c>30s</c>), and a verb that only needs a path must not fail on a key it does not use.
    /// </summary>
    public static string? ReadServiceValue(IConfiguration configuration, string key)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration[$"{ServiceOptions.SectionName}:{key}"] is { Length: > 0 } value ? value : null;
    }
}
