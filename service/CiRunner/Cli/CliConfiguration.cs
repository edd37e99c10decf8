using System.CommandLine;
using CiRunner.Configuration;

namespace CiRunner.Cli;

/// <summary>Reads the configuration sources a verb uses: the file, then <c>CIRUNNER__</c> environment variables.</summary>
internal static class CliConfiguration
{
    public const string EnvironmentPrefix = ConfigurationLoader.EnvironmentPrefix;

    public static IConfigurationRoot Build(string configFile) => ConfigurationLoader.BuildConfiguration(configFile);

    /// <summary>
    /// The <c>Docker</c> section for the verbs that only need the engine (images), bound as written, with a relative
    /// <c>TlsCertDirectory</c> taken from the configuration file's folder as <c>serve</c> takes it.
    /// </summary>
    public static DockerOptions ReadDocker(string configFile)
    {
        DockerOptions docker = Build(configFile).GetSection(DockerOptions.SectionName).Get<DockerOptions>() ?? new DockerOptions();
        if (docker.TlsCertDirectory is { } certificates)
        {
            docker.TlsCertDirectory = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configFile))!, certificates));
        }

        return docker;
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
    /// One <c>Service</c> key as written. Read as text rather than bound: the binder cannot read CiRunner's durations
    /// (<c>30s</c>), and a verb that only needs a path must not fail on a key it does not use.
    /// </summary>
    public static string? ReadServiceValue(IConfiguration configuration, string key)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration[$"{ServiceOptions.SectionName}:{key}"] is { Length: > 0 } value ? value : null;
    }
}
