using System.CommandLine;

namespace CiRunner.Cli;

/// <summary><c>cirunner serve</c>: the long-running service.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the service until stopped (systemd, Windows service or foreground).");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await Task.Yield();
            Console.WriteLine(GlobalOptions.ResolveConfigPath(parseResult));
            return 0;
        });
        return command;
    }
}
