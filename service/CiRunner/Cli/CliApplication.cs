using System.CommandLine;

namespace CiRunner.Cli;

/// <summary>The <c>cirunner</c> command line: one verb per user task, each in its own class.</summary>
internal static class CliApplication
{
    public static async Task<int> RunAsync(string[] args)
    {
        RootCommand root = Build();
        ParseResult parsed = root.Parse(args);

        // serve's host handles SIGTERM and Ctrl+C itself, and drains running jobs for Service:DrainTimeout before
        // it returns. System.CommandLine would also take the signal and end the process 2 s later, mid-drain.
        var configuration = new InvocationConfiguration();
        if (parsed.CommandResult.Command.Name == ServeCommand.Name)
        {
            configuration.ProcessTerminationTimeout = null;
        }

        return await parsed.InvokeAsync(configuration);
    }

    internal static RootCommand Build()
    {
        var root = new RootCommand("CiRunner: continuous integration tests of puppet-openstack modules in containers.");
        root.Options.Add(GlobalOptions.Config);
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(RunsCommand.Create());
        root.Subcommands.Add(ShowCommand.Create());
        root.Subcommands.Add(LogsCommand.Create());
        root.Subcommands.Add(ImagesCommand.Create());
        root.Subcommands.Add(TriggerCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(MatrixCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        return root;
    }
}
