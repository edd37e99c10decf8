using System.CommandLine;
using System.Globalization;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary><c>cirunner flakes</c>: the flake ledger, per cell and failure signature, most flaky first.</summary>
internal static class FlakesCommand
{
    public static Command Create()
    {
        var module = new Option<string?>("--module", "-m")
        {
            Description = "Only cells of this module (short name, e.g. keystone).",
            CustomParser = CliValues.NonBlank("a module's short name, like keystone"),
        };
        var branch = new Option<string?>("--branch", "-b")
        {
            Description = "Only cells on this branch (e.g. stable/2024.1).",
            CustomParser = CliValues.NonBlank("a branch, like stable/2024.1"),
        };
        var window = new Option<int?>("--window", "-w")
        {
            Description = "Count over each cell's last N runs (default: Flakes:Window of the configuration, else 20).",
            CustomParser = result => CliValues.WholeNumber(2, "--window 20")(result),
        };
        var all = new Option<bool>("--all")
        {
            Description = "Also signatures that only ever failed (never passed on a re-run).",
        };

        var command = new Command("flakes", "The flake ledger: per cell and failure signature, how often it flaked (failed, then passed on the same lockfile) and failed over the cell's last runs.");
        command.Options.Add(module);
        command.Options.Add(branch);
        command.Options.Add(window);
        command.Options.Add(all);
        command.SetAction((parseResult, cancellationToken) => ResultsVerb.InvokeAsync(
            parseResult,
            (store, _, output, error, token) =>
            {
                FlakeOptions options = ReadOptions(parseResult);
                return WriteAsync(
                    store,
                    parseResult.GetValue(module),
                    parseResult.GetValue(branch),
                    parseResult.GetValue(window) ?? options.Window,
                    options.VoteThreshold,
                    parseResult.GetValue(all),
                    output,
                    token);
            },
            cancellationToken));
        return command;
    }

    public static async Task<int> WriteAsync(
        ResultsStore store, string? module, string? branch, int window, double threshold, bool all, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        IReadOnlyList<FlakeLedgerEntry> entries = await store.Flakes.LedgerAsync(module, branch, window, all, cancellationToken);
        if (entries.Count == 0)
        {
            string filter = string.Join(" ", new[] { module, branch }.Where(f => f is not null));
            string what = all ? "failed" : "flaked";
            await output.WriteLineAsync($"No cell{(filter.Length == 0 ? "" : $" of {filter}")} {what} in its last {window} runs.".AsMemory(), cancellationToken);
            return 0;
        }

        var table = new TextTable("MODULE", "BRANCH", "CELL", "FLAKY", "FAILED", "RUNS", "RATE", "KNOWN", "LAST (UTC)", "JOB", "SIGNATURE");
        foreach (FlakeLedgerEntry entry in entries)
        {
            table.AddRow(
                entry.Module,
                entry.Branch,
                entry.CellKey,
                ResultsText.Number(entry.Flaky),
                ResultsText.Number(entry.Failed),
                ResultsText.Number(entry.Runs),
                entry.FlakeRate.ToString("P0", CultureInfo.InvariantCulture),
                entry.IsKnownFlaky(threshold) ? "known flaky" : "-",
                ResultsText.Time(entry.LastSeen),
                ResultsText.Number(entry.LastJobId),
                entry.Signature);
        }

        await table.WriteAsync(output, indent: "", cancellationToken);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Known flaky: flaked in more than {threshold:P0} of the cell's last {window} runs (Flakes:VoteThreshold); such a failure does not vote -1 on its own.").AsMemory(), cancellationToken);
        return 0;
    }

    /// <summary>The <c>Flakes</c> section as written; a verb that reads the ledger must not fail on sections it does not use.</summary>
    private static FlakeOptions ReadOptions(ParseResult parseResult)
    {
        var options = new FlakeOptions();
        Microsoft.Extensions.Configuration.IConfigurationRoot configuration = CliConfiguration.Build(GlobalOptions.ResolveConfigPath(parseResult));
        if (int.TryParse(configuration[$"{FlakeOptions.SectionName}:{nameof(FlakeOptions.Window)}"], NumberStyles.None, CultureInfo.InvariantCulture, out int window) && window >= 2)
        {
            options.Window = window;
        }

        if (double.TryParse(configuration[$"{FlakeOptions.SectionName}:{nameof(FlakeOptions.VoteThreshold)}"], NumberStyles.Float, CultureInfo.InvariantCulture, out double threshold) && threshold is > 0 and <= 1)
        {
            options.VoteThreshold = threshold;
        }

        return options;
    }
}
