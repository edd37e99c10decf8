using System.CommandLine;

namespace CiRunner.Cli;

/// <summary>The <c>cirunner</c> command line: one verb per user task, each in its own class.</summary>
internal static class CliApplication
{
    /// <summary>
    /// How long a verb may take to finish after Ctrl+C or SIGTERM cancelled it before the process exits anyway:
    /// <c>run</c> removes its containers and records its jobs as cancelled, <c>serve</c> drains (its own shutdown
    /// timeout is 90 s). System.CommandLine's default of 2 s would cut both short and leave containers behind.
    /// </summary>
    public static readonly TimeSpan TerminationTimeout = TimeSpan.FromSeconds(100);

    /// <summary>The process's entry point: the console, and Ctrl+C and SIGTERM given <see cref="TerminationTimeout"/>.</summary>
    public static Task<int> RunAsync(string[] args) =>
        InvokeAsync(args, new InvocationConfiguration { ProcessTerminationTimeout = TerminationTimeout }, CancellationToken.None);

    /// <summary>
    /// Parses and runs one command line, writing to <paramref name="configuration"/>'s writers. A command line that
    /// does not parse gets one line per problem and exit code <see cref="BadInput.ExitCode"/> (<see cref="BadInput"/>)
    /// instead of System.CommandLine's error and help screen.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ParseResult parsed = Build().Parse(args);
        if (BadInput.Applies(parsed))
        {
            return await BadInput.ReportAsync(parsed, configuration.Error);
        }

        // serve's host handles SIGTERM and Ctrl+C itself, and drains running jobs for Service:DrainTimeout before
        // it returns. System.CommandLine would also take the signal and end the process after its timeout, mid-drain.
        if (parsed.CommandResult.Command.Name == ServeCommand.Name)
        {
            configuration.ProcessTerminationTimeout = null;
        }

        return await parsed.InvokeAsync(configuration, cancellationToken);
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
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(BisectCommand.Create());
        root.Subcommands.Add(FlakesCommand.Create());
        root.Subcommands.Add(StoreCommand.Create());
        return root;
    }
}
