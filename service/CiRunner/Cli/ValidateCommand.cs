using System.CommandLine;
using System.Globalization;
using CiRunner.Configuration;

namespace CiRunner.Cli;

/// <summary><c>cirunner validate</c>: load configuration, Puppetfiles and scenarios and report every error at once.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var command = new Command("validate", "Check the configuration, Puppetfiles and scenarios; print a summary or every error.");
        command.SetAction(Run);
        return command;
    }

    /// <summary>Exit 0 with a summary on standard output, or 1 with every error on standard error, one per line.</summary>
    private static int Run(ParseResult parseResult)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);

        ConfigurationLoadResult result = ConfigurationLoader.Load(configFile);
        if (!result.Succeeded)
        {
            ConfigurationReport.WriteErrors(error, result);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.ConfigFile}: not valid, {result.Errors.Count} {(result.Errors.Count == 1 ? "error" : "errors")} (listed on standard error)"));
            return 1;
        }

        ConfigurationReport.WriteSummary(output, result.Settings);
        return 0;
    }
}
