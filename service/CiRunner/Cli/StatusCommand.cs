using System.CommandLine;
using System.Globalization;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary><c>cirunner status</c>: how polling each module goes.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "List modules with their last poll, last successful poll, failed polls and last error, and whether free disk space holds new jobs.");
        command.SetAction((parseResult, cancellationToken) => ResultsVerb.InvokeAsync(
            parseResult,
            async (store, paths, output, _, token) =>
            {
                int exitCode = await WriteAsync(store, output, token);
                await WriteDiskAsync(paths, ReadMinFreeDiskMb(parseResult), output, token);
                return exitCode;
            },
            cancellationToken));
        return command;
    }

    /// <summary>The free-space check the service makes before it starts a job (<c>Service:MinFreeDiskMb</c>), made here on the same directory.</summary>
    public static async Task WriteDiskAsync(Configuration.DataPaths paths, int minFreeMb, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(output);
        Execution.JobStartGateStatus disk = Execution.DiskSpaceGuard.Check(paths.Root, minFreeMb);
        string line = disk.Open ? $"Disk: ok, {disk.Detail}." : $"Disk: NEW JOBS ARE HELD, {disk.Detail}.";
        await output.WriteLineAsync(line.AsMemory(), cancellationToken);
    }

    private static int ReadMinFreeDiskMb(ParseResult parseResult)
    {
        IConfigurationRoot configuration = CliConfiguration.Build(GlobalOptions.ResolveConfigPath(parseResult));
        string? text = CliConfiguration.ReadServiceValue(configuration, nameof(Configuration.ServiceOptions.MinFreeDiskMb));
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= 0 ? value : new Configuration.ServiceOptions().MinFreeDiskMb;
    }

    public static async Task<int> WriteAsync(ResultsStore store, TextWriter output, CancellationToken cancellationToken)
    {
        IReadOnlyList<ModulePollStatus> modules = await store.PollStatus.ListAsync(cancellationToken);
        if (modules.Count == 0)
        {
            await output.WriteLineAsync("No module has been polled yet.".AsMemory(), cancellationToken);
            return 0;
        }

        IReadOnlyList<BranchHeadRecord> heads = await store.PollState.ListAsync(null, cancellationToken);
        var table = new TextTable("MODULE", "BRANCHES", "LAST POLL (UTC)", "LAST SUCCESS (UTC)", "FAILED (IN A ROW/ALL)", "LAST ERROR (UTC)");
        foreach (ModulePollStatus module in modules)
        {
            int branches = heads.Count(h => h.Module == module.Module && h.DeletedAt is null && !Polling.MirrorPoller.IsChangeRef(h.Branch));
            string lastError = module.LastError is null ? ResultsText.None : $"{ResultsText.Time(module.LastErrorAt)} {module.LastError}";
            table.AddRow(
                module.Module,
                ResultsText.Number(branches),
                ResultsText.Time(module.LastPollAt),
                ResultsText.Time(module.LastSuccessAt),
                string.Create(CultureInfo.InvariantCulture, $"{module.ConsecutiveFailures}/{module.TotalFailures}"),
                lastError);
        }

        await table.WriteAsync(output, indent: "", cancellationToken);
        return 0;
    }
}
