using System.Globalization;
using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>What a tempest step came to: its result, why (naming the failed tests), and every test of its run.</summary>
public sealed record TempestStepResult(JobResult Result, string? Message, IReadOnlyList<TempestTestResult> Tests);

/// <summary>
/// After a tempest step, reads its results out of the container (<see cref="StepCommands.TempestResultsPath"/>, through
/// the archive API, while the step script waits) and judges the step by them rather than by Tempest's exit code alone:
/// any failed test fails it, and the message names the first few; so does a run in which nothing passed.
/// </summary>
public static class TempestResults
{
    /// <summary>The failed tests a message names; the rest are counted.</summary>
    public const int NamedFailures = 3;

    /// <summary>A full Tempest run's JUnit XML with many failures stays well under this.</summary>
    private const long MaxResultsBytes = 64L * 1024 * 1024;

    /// <summary>A failure line in a message is cut to this many characters.</summary>
    private const int MaxFailureLine = 160;

    /// <summary>Reads and judges the results of a tempest step that exited with <paramref name="exitCode"/>.</summary>
    public static async Task<TempestStepResult> ReadAsync(IDockerClient docker, string containerId, long exitCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(docker);
        (string? xml, string? problem) = await ContainerFile.ReadTextAsync(docker, containerId, StepCommands.TempestResultsPath, MaxResultsBytes, cancellationToken);
        IReadOnlyList<TempestTestResult>? tests = null;
        if (xml is not null)
        {
            try
            {
                tests = TempestResultParser.Parse(xml);
            }
            catch (FormatException ex)
            {
                problem = ex.Message;
            }
        }

        return tests is null ? Unread(exitCode, problem ?? "no results") : Judge(exitCode, tests);
    }

    /// <summary>The step's result from its tests and Tempest's exit code (pure).</summary>
    public static TempestStepResult Judge(long exitCode, IReadOnlyList<TempestTestResult> tests)
    {
        ArgumentNullException.ThrowIfNull(tests);
        List<TempestTestResult> failed = tests.Where(t => t.Status == TempestTestStatus.Failed).ToList();
        int passed = tests.Count(t => t.Status == TempestTestStatus.Passed);
        int skipped = tests.Count(t => t.Status == TempestTestStatus.Skipped);
        string counts = $"{passed} passed, {failed.Count} failed, {skipped} skipped";
        if (failed.Count > 0)
        {
            IEnumerable<string> named = failed.Take(NamedFailures).Select(t => t.FailureLine is { } line ? $"{t.ShortName} ({Cut(line)})" : t.ShortName);
            string more = failed.Count > NamedFailures ? $"; and {failed.Count - NamedFailures} more" : "";
            return new TempestStepResult(
                JobResult.Failure,
                $"{Number(failed.Count)} of {Count(tests.Count, "Tempest test")} failed ({passed} passed, {skipped} skipped): {string.Join("; ", named)}{more}",
                tests);
        }

        if (tests.Count == 0)
        {
            return new TempestStepResult(JobResult.Failure, $"no Tempest test ran (tempest run exited {Number(exitCode)}): do the step's include and exclude lists select any?", tests);
        }

        if (passed == 0)
        {
            string reason = tests.Select(t => t.SkipReason).FirstOrDefault(r => !string.IsNullOrEmpty(r)) is { } first ? $" (\"{Cut(first)}\")" : "";
            string which = skipped == 1 ? "the one selected test was" : $"all {Number(skipped)} selected tests were";
            return new TempestStepResult(JobResult.Failure, $"no Tempest test passed: {which} skipped{reason}", tests);
        }

        return exitCode == 0
            ? new TempestStepResult(JobResult.Success, null, tests)
            : new TempestStepResult(JobResult.Failure, $"tempest run exited {Number(exitCode)} though no test failed ({counts})", tests);
    }

    /// <summary>
    /// No results to judge by: after a failed run, Tempest stopped before any test (a configuration it refuses, say: the
    /// log says); after a passed run the converter broke, which is the image's fault, not the deployment's.
    /// </summary>
    private static TempestStepResult Unread(long exitCode, string problem) =>
        exitCode == 0
            ? new TempestStepResult(JobResult.Error, $"tempest run passed, but its results could not be read: {problem} (are the Debian packages subunit and python3-junitxml in the image?)", [])
            : new TempestStepResult(JobResult.Failure, $"tempest run exited {Number(exitCode)} before writing any test result ({problem}); the log says why", []);

    private static string Cut(string text) => text.Length <= MaxFailureLine ? text : text[..(MaxFailureLine - 3)] + "...";

    private static string Count(int count, string noun) => count == 1 ? $"1 {noun}" : $"{Number(count)} {noun}s";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
