using System.CommandLine;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary><c>cirunner runs</c>: the most recent runs, newest first.</summary>
internal static class RunsCommand
{
    public const int DefaultLimit = 20;

    public static Command Create()
    {
        var module = new Option<string?>("--module", "-m")
        {
            Description = "Only runs of this module (short name, e.g. keystone).",
            CustomParser = CliValues.NonBlank("a module's short name, like keystone"),
        };
        var branch = new Option<string?>("--branch", "-b")
        {
            Description = "Only runs on this branch (e.g. stable/2024.1).",
            CustomParser = CliValues.NonBlank("a branch, like stable/2024.1"),
        };
        var limit = new Option<int>("--limit", "-n")
        {
            Description = "How many runs to list, newest first.",
            DefaultValueFactory = _ => DefaultLimit,
            CustomParser = CliValues.WholeNumber(1, "--limit 20"),
        };

        var command = new Command("runs", "List recent runs: cause, module, branch, commit, result and how many jobs passed.");
        command.Options.Add(module);
        command.Options.Add(branch);
        command.Options.Add(limit);
        command.SetAction((parseResult, cancellationToken) => ResultsVerb.InvokeAsync(
            parseResult,
            (store, _, output, _, token) => WriteAsync(store, parseResult.GetValue(module), parseResult.GetValue(branch), parseResult.GetValue(limit), output, token),
            cancellationToken));
        return command;
    }

    public static async Task<int> WriteAsync(ResultsStore store, string? module, string? branch, int limit, TextWriter output, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunSummary> runs = await store.Runs.ListRecentAsync(module, branch, limit, cancellationToken);
        if (runs.Count == 0)
        {
            string filter = string.Join(" ", new[] { module, branch }.Where(f => f is not null));
            string message = filter.Length == 0 ? "No runs yet." : $"No runs of {filter}.";
            await output.WriteLineAsync(message.AsMemory(), cancellationToken);
            return 0;
        }

        var table = new TextTable("ID", "CAUSE", "MODULE", "BRANCH", "COMMIT", "CREATED (UTC)", "RESULT", "PASSED");
        foreach (RunSummary summary in runs)
        {
            RunRecord run = summary.Run;
            table.AddRow(
                ResultsText.Number(run.Id),
                run.Cause.ToWire(),
                run.Module,
                run.Branch,
                ResultsText.ShortSha(run.CommitSha),
                ResultsText.Time(run.CreatedAt),
                ResultsText.Status(run),
                ResultsText.Passed(summary.PassedCount, summary.JobCount));
        }

        await table.WriteAsync(output, indent: "", cancellationToken);
        return 0;
    }
}
