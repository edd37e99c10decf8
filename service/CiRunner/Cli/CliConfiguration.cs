using System.CommandLine;
using CiRunner.Configuration;

namespace CiRunner.Cli;

/// <summary>Reads the configuration sources a verb uses: the file, then <c>CIRUNNER__</c> environment variables.</summary>
internal static class CliConfiguration
{
    public const string EnvironmentPrefix = ConfigurationLoader.EnvironmentPrefix;

    public static IConfigurationRoot Build(string configFile) => ConfigurationLoader.BuildConfiguration(configFile);

    /// <summary>The data directory layout, with relative paths taken from the configuration file's folder.</summary>
    public static DataPaths ReadDataPaths(ParseResult parseResult)
    {
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);
        // The one key, not the section: binding the section would trip over durations written as 5m.
        string dataDirectory = Build(configFile)[$"{ServiceOptions.SectionName}:{nameof(ServiceOptions.DataDirectory)}"] ?? new ServiceOptions().DataDirectory;
        string baseDirectory = Path.GetDirectoryName(configFile)!;
        return new DataPaths(Path.Combine(baseDirectory, dataDirectory));
    }
}
