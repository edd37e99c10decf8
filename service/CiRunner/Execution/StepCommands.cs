using CiRunner.Matrix;

namespace CiRunner.Execution;

/// <summary>The command line of each step kind and what its exit code means (pure, no Docker).</summary>
public static class StepCommands
{
    public const string ModulePath = "/cirunner/modules";
    public const string ScenarioDirectory = "/cirunner/scenario";

    /// <summary><c>puppet config print lastrunreport</c> in Debian's Puppet 7.</summary>
    public const string LastRunReportPath = "/var/cache/puppet/state/last_run_report.yaml";

    /// <summary>Where a tempest step works: its stestr workspace, include and exclude lists, and the results of its run.</summary>
    public const string TempestDirectory = "/cirunner/tempest";

    /// <summary>Every test of a tempest step's run as JUnit XML (<c>stestr last --subunit | subunit2junitxml</c>), read by the executor.</summary>
    public const string TempestResultsPath = TempestDirectory + "/results.xml";

    /// <summary>
    /// A tempest step: checks the tools are there (exit 127 like a missing command otherwise), starts from an empty
    /// workspace (no earlier step's results can pass for this one's), writes the include and exclude lists from the
    /// arguments (<c>+regex</c>, <c>-regex</c>), runs Tempest, then converts the run's subunit stream to JUnit XML even
    /// when tests failed, and exits with Tempest's status. Arguments: the configuration file, the workers, the regexes.
    /// </summary>
    private const string TempestScript = """
        d=/cirunner/tempest c=$1 w=$2; shift 2
        for t in tempest stestr subunit2junitxml; do command -v $t >/dev/null || { echo "cirunner: no $t in this image (Debian packages tempest, subunit, python3-junitxml)" >&2; exit 127; }; done
        python3 -c 'import junitxml' 2>/dev/null || { echo 'cirunner: subunit2junitxml needs the Debian package python3-junitxml' >&2; exit 127; }
        [ -f "$c" ] || { echo "cirunner: Tempest's configuration $c does not exist" >&2; exit 1; }
        rm -rf $d && mkdir -p $d/workspace && cd $d/workspace || exit 1
        : > ../include-list; : > ../exclude-list
        for r; do case $r in +*) printf '%s\n' "${r#+}" >> ../include-list;; -*) printf '%s\n' "${r#-}" >> ../exclude-list;; esac; done
        tempest run --config-file "$c" --concurrency "$w" --include-list ../include-list --exclude-list ../exclude-list; rc=$?
        if stestr last --subunit > ../results.subunit; then subunit2junitxml < ../results.subunit > ../results.xml; fi
        exit $rc
        """;

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
                    throw new ArgumentException($"Step '{step.Name}' is a puppet {step.Kind.ToWire()} step but its phase has no manifest.", nameof(manifest));
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
            case StepKind.Tempest:
                return Tempest(step);
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Kind, "Unknown step kind.");
        }
    }

    /// <summary>
    /// Whether the container must still be there after the step, for the executor to read what it left: Puppet's
    /// report after an idempotency step, the results after a tempest step.
    /// </summary>
    public static bool LeavesFilesToRead(StepKind kind) => kind is StepKind.Idempotency or StepKind.Tempest;

    private static string[] Tempest(StepDefinition step)
    {
        TempestSettings tempest = step.Tempest ?? throw new ArgumentException($"Tempest step '{step.Name}' has no Tempest settings.", nameof(step));
        string config = tempest.ConfigPath.StartsWith('/') ? tempest.ConfigPath : $"{ScenarioDirectory}/{tempest.ConfigPath}";
        return
        [
            "sh", "-c", TempestScript, "tempest", config, tempest.Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. tempest.Include.Select(r => "+" + r),
            .. tempest.Exclude.Select(r => "-" + r),
        ];
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
            // The executor reads the results and names the failing tests; this is what the exit code alone says.
            StepKind.Tempest => exitCode == 0 ? (JobResult.Success, null) : (JobResult.Failure, $"tempest run exited {exitCode}"),
            _ => exitCode == 0 ? (JobResult.Success, null) : (JobResult.Failure, $"command exited {exitCode}"),
        };
    }

    /// <summary>Whether Puppet's exit code says it changed something (2 and 6 carry the "changes" bit).</summary>
    public static bool PuppetReportedChanges(long exitCode) => exitCode is 2 or 6;
}
