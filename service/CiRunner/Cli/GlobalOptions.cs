using System.CommandLine;

namespace CiRunner.Cli;

/// <summary>Options every verb understands.</summary>
internal static class GlobalOptions
{
    public const string ConfigEnvironmentVariable = "CIRUNNER_CONFIG";

    public static readonly Option<FileInfo?> Config = new("--config", "-c")
    {
        Description = $"Configuration file (default: ${ConfigEnvironmentVariable}, else ./appsettings.json). Environment variables CIRUNNER__Section__Key override it.",
        Recursive = true,
        CustomParser = CliValues.FilePath("--config /etc/cirunner/appsettings.json"),
    };

    /// <summary>The configuration file a verb should read: the option, then the environment, then the working folder.</summary>
    public static string ResolveConfigPath(ParseResult parseResult)
    {
        FileInfo? file = parseResult.GetValue(Config);
        if (file is not null)
        {
            return file.FullName;
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable(ConfigEnvironmentVariable);
        return Path.GetFullPath(string.IsNullOrWhiteSpace(fromEnvironment) ? "appsettings.json" : fromEnvironment);
    }
}
