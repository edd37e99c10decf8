using System.CommandLine;

namespace CiRunner.Cli;

/// <summary><c>cirunner validate</c>: load configuration, Puppetfiles and scenarios and report every error at once.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var command = new Command("validate", "Check the configuration, Puppetfiles and scenarios; print a summary or every error.");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await Task.Yield();
            Console.WriteLine(GlobalOptions.ResolveConfigPath(parseResult));
            return 0;
        });
        return command;
    }
}
