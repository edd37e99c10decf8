using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Matrix;

namespace CiRunner.Cli;

/// <summary><c>cirunner matrix</c>: the cells a trigger would run, from the configuration alone (no service, no database).</summary>
internal static class MatrixCommand
{
    public static Command Create()
    {
        var module = new Option<string?>("--module", "-m")
        {
            Description = "Only this module (default: every configured module).",
            CustomParser = CliValues.NonBlank("a module's short name, like keystone"),
        };
        var branch = new Option<string?>("--branch", "-b")
        {
            Description = "Only this branch (default: each branch the module is tested on for some release).",
            CustomParser = CliValues.NonBlank("a branch, like stable/2024.1"),
        };
        var command = new Command("matrix", "Print the cells (kind, from -> to release, scenario, key) a commit on each module branch runs.");
        command.Options.Add(module);
        command.Options.Add(branch);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, parseResult.GetValue(module), parseResult.GetValue(branch), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, string? moduleName, string? branch, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;
        if (!ConfigurationLoader.TryLoad(GlobalOptions.ResolveConfigPath(parseResult), error, out CiRunnerSettings? settings))
        {
            return 1;
        }

        IReadOnlyList<TrackedModule> modules = settings.Modules;
        if (moduleName is not null)
        {
            TrackedModule? module = settings.FindModule(moduleName);
            if (module is null)
            {
                await error.WriteLineAsync($"--module: '{moduleName}' is not configured; configured: {string.Join(", ", settings.Modules.Select(m => m.Name))}".AsMemory(), cancellationToken);
                return BadInput.ExitCode;
            }

            modules = [module];
        }

        foreach (TrackedModule module in modules)
        {
            // Without --branch: the branches releases map this module to, in upgrade order (what polling and nightly trigger).
            IEnumerable<string> branches = branch is not null
                ? [branch]
                : settings.Releases.Select(module.BranchFor).OfType<string>().Distinct(StringComparer.Ordinal);
            foreach (string b in branches)
            {
                IReadOnlyList<Cell> cells = CellExpansion.Expand(module, b, settings.Releases, settings.Scenarios, settings.Matrix);
                string note = module.Tracks(b) ? $"{cells.Count} {(cells.Count == 1 ? "cell" : "cells")}" : "branch not tracked: no cells";
                await output.WriteLineAsync($"{module.Name} {b}: {note}".AsMemory(), cancellationToken);
                if (cells.Count == 0)
                {
                    continue;
                }

                var table = new TextTable("KIND", "RELEASE", "SCENARIO", "KEY");
                foreach (Cell cell in cells)
                {
                    string release = cell.FromRelease is null ? cell.Release : $"{cell.FromRelease} -> {cell.Release}";
                    table.AddRow(cell.Kind.ToWire(), release, cell.Scenario, cell.Key);
                }

                await table.WriteAsync(output, "  ", cancellationToken);
            }
        }

        return 0;
    }
}
