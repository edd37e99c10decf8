using CiRunner.Matrix;

namespace CiRunner.Execution;

/// <summary>The command line of each step kind and what its exit code means (pure, no Docker).</summary>
public static class StepCommands
{
    public const string ModulePath = "/cirunner/modules";
    public const string ScenarioDirectory = "/cirunner/scenario";

    /// <summary><c>puppet config print lastrunreport</c> in Debian's Puppet 7.</summary>
    public const string LastRunReportPath = "/var/cache/puppet/state/last_run_report.yaml";

    /// <summary>The argument array a step runs in the container.</summary>
    public static IReadOnlyList<string> For(StepDefinition step, string? manifest)
    {
        ArgumentNullException.ThrowIfNull(step);
        switch (step.Kind)
        {
            case StepKind.Apply:
            case StepKind.Idempotency:
                if (string.IsNullOrEmpty(manifest))
                {
                    throw new ArgumentException($"Step '{step.Name}' is a puppet {step.Kind.ToString().ToLowerInvariant()} step but its phase has no manifest.", nameof(manifest));
                }

                // --color=false: the log is a file, not a terminal; ANSI codes would only obscure it.
                return step.Noop
                    ? ["puppet", "apply", "--noop", "--detailed-exitcodes", "--color=false", "--modulepath", ModulePath, $"{ScenarioDirectory}/{manifest}"]
                    : ["puppet", "apply", "--detailed-exitcodes", "--color=false", "--modulepath", ModulePath, $"{ScenarioDirectory}/{manifest}"];
            case StepKind.Command:
                if (step.Command.Count == 0)
                {
                    throw new ArgumentException($"Command step '{step.Name}' has an empty command.", nameof(step));
                }

                return step.Command;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Kind, "Unknown step kind.");
        }
    }

    /// <summary>
    /// Whether the exit code says the command never ran: 125 (the engine failed), 126 (not executable, or
    /// the engine could not exec it), 127 (not found). These look as fast as a real run, so they are
    /// infrastructure errors (wrong image, missing tool), never passes or test failures.
    /// </summary>
    public static bool CouldNotStart(long exitCode) => exitCode is 125 or 126 or 127;

    /// <summary>Maps a step's exit code to its result, with a message when it did not succeed.</summary>
    public static (JobResult Result, string? Message) Interpret(StepKind kind, long exitCode)
    {
        if (CouldNotStart(exitCode))
        {
            return (JobResult.Error, $"the command could not start (exit {exitCode})");
        }

        return kind switch
        {
            StepKind.Apply => exitCode switch
            {
                0 or 2 => (JobResult.Success, null),
                1 => (JobResult.Failure, "puppet apply failed before applying (exit 1: compile or parse error)"),
                4 => (JobResult.Failure, "puppet apply reported failures (exit 4)"),
                6 => (JobResult.Failure, "puppet apply made changes and reported failures (exit 6)"),
                _ => (JobResult.Failure, $"puppet apply exited {exitCode}"),
            },
            StepKind.Idempotency => exitCode switch
            {
                0 => (JobResult.Success, null),
                1 => (JobResult.Failure, "second puppet apply failed before applying (exit 1: compile or parse error)"),
                2 => (JobResult.Failure, "not idempotent: the second puppet apply changed resources (exit 2)"),
                4 => (JobResult.Failure, "second puppet apply reported failures (exit 4)"),
                6 => (JobResult.Failure, "not idempotent: the second puppet apply changed resources and reported failures (exit 6)"),
                _ => (JobResult.Failure, $"second puppet apply exited {exitCode}"),
            },
            _ => exitCode == 0 ? (JobResult.Success, null) : (JobResult.Failure, $"command exited {exitCode}"),
        };
    }

    /// <summary>Whether Puppet's exit code says it changed something (2 and 6 carry the "changes" bit).</summary>
    public static bool PuppetReportedChanges(long exitCode) => exitCode is 2 or 6;
}
