using System.Globalization;
using System.Xml.Linq;
using CiRunner.Results;

namespace CiRunner.Reporting;

/// <summary>
/// A finished run as JUnit XML, in the shape Jenkins (xUnit's <c>junit-10.xsd</c>) and GitLab read: one test suite
/// per run, one test case per cell (its last attempt), named as in the Gerrit comment. A failure or timeout is a
/// <c>&lt;failure&gt;</c>, infrastructure trouble an <c>&lt;error&gt;</c>, a job that did not run to a verdict
/// (cancelled, superseded, skipped) <c>&lt;skipped&gt;</c>; each carries the failing step and the end of the log.
/// After a cell's test case come its Tempest tests, one test case each, named by Tempest's test id with the class
/// name <c>&lt;module&gt;.&lt;branch&gt;.&lt;cell&gt;.&lt;phase&gt;</c> (an upgrade cell runs Tempest after deploy and
/// after upgrade): a failed test carries its traceback, a skipped one its reason. A flaky cell (it failed, then passed on
/// the same lockfile) is a passing test case whose output says first which attempt failed and with what signature, and
/// the suite's <c>flaky</c> property counts them (Surefire's <c>&lt;flakyFailure&gt;</c> is not in the schema Jenkins
/// validates against); a known flaky failure's message says so first.
/// </summary>
public static class JUnitReport
{
    /// <param name="run">The run.</param>
    /// <param name="logTails">The end of each job's log, by job id (cleaned by <see cref="LogTail"/>).</param>
    /// <param name="links">Links to the run and job pages.</param>
    /// <param name="hostname">The machine that ran the jobs.</param>
    public static XDocument Build(FinishedRun run, IReadOnlyDictionary<long, string> logTails, ReportLinks links, string hostname)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(logTails);
        ArgumentNullException.ThrowIfNull(links);

        List<TempestTestRecord> tempest = run.Cells.SelectMany(c => c.TempestTests).ToList();
        int tests = run.Cells.Count + tempest.Count;
        int failures = run.Cells.Count(c => IsFailure(c.Result)) + tempest.Count(t => t.Status == TempestTestStatus.Failed);
        int errors = run.Cells.Count(c => IsError(c.Result));
        int skipped = run.Cells.Count(c => IsSkipped(c.Result)) + tempest.Count(t => t.Status == TempestTestStatus.Skipped);
        double seconds = run.Cells.Sum(c => c.Job.Duration?.TotalSeconds ?? 0);
        string classname = $"{run.Run.Module}.{run.Run.Branch}";

        var properties = new XElement("properties",
            Property("module", run.Run.Module),
            Property("branch", run.Run.Branch),
            Property("commit", run.Run.CommitSha),
            Property("cause", run.Run.Cause.ToWire()),
            Property("result", run.Result.ToWire()),
            Property("flaky", Number(run.Cells.Count(c => c.Result == JobResult.Flaky))),
            Property("known_flaky_failures", Number(run.Cells.Count(c => c.IsKnownFlakyFailure))),
            Property("run_url", links.Run(run.Run.Id)));
        if (run.Run.ChangeRef is not null)
        {
            properties.Add(Property("change_ref", run.Run.ChangeRef));
        }

        var suite = new XElement("testsuite",
            new XAttribute("name", $"{run.Run.Module} {run.Run.Branch} (run {run.Run.Id})"),
            new XAttribute("tests", Number(tests)),
            new XAttribute("failures", Number(failures)),
            new XAttribute("errors", Number(errors)),
            new XAttribute("skipped", Number(skipped)),
            new XAttribute("time", Seconds(seconds)),
            new XAttribute("timestamp", (run.Run.StartedAt ?? run.Run.CreatedAt).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)),
            new XAttribute("hostname", hostname),
            new XAttribute("id", Number(run.Run.Id)),
            new XAttribute("package", run.Run.Module),
            new XAttribute("url", links.Run(run.Run.Id)),
            properties);

        foreach (ReportedCell cell in run.Cells)
        {
            suite.Add(TestCase(cell, classname, logTails.GetValueOrDefault(cell.Job.Id, ""), links));
            foreach (TempestTestRecord test in cell.TempestTests)
            {
                suite.Add(TempestTestCase(cell, test, $"{classname}.{cell.Name}.{test.Phase}", links));
            }
        }

        var suites = new XElement("testsuites",
            new XAttribute("name", "cirunner"),
            new XAttribute("tests", Number(tests)),
            new XAttribute("failures", Number(failures)),
            new XAttribute("errors", Number(errors)),
            new XAttribute("time", Seconds(seconds)),
            suite);
        return new XDocument(new XDeclaration("1.0", "utf-8", null), suites);
    }

    private static XElement TestCase(ReportedCell cell, string classname, string logTail, ReportLinks links)
    {
        var testCase = new XElement("testcase",
            new XAttribute("name", cell.Name),
            new XAttribute("classname", classname),
            new XAttribute("time", Seconds(cell.Job.Duration?.TotalSeconds ?? 0)));

        string summary = LogTail.Clean(cell.Job.Summary ?? cell.Result.ToWire());
        JobResult result = cell.Result;
        if (IsFailure(result) || IsError(result))
        {
            string body = $"{Evidence(cell, links)}\n\n{logTail}".TrimEnd();
            testCase.Add(new XElement(IsFailure(result) ? "failure" : "error",
                new XAttribute("type", result.ToWire()),
                new XAttribute("message", cell.IsKnownFlakyFailure ? LogTail.Clean($"{cell.Flake!.Describe()}; {summary}") : summary),
                body));
        }

        else if (IsSkipped(result))
        {
            testCase.Add(new XElement("skipped", new XAttribute("type", result.ToWire()), new XAttribute("message", summary)));
        }

        string flaky = result == JobResult.Flaky && cell.Flake is { } flake && flake.FailedJobId is { } failedId
            ? LogTail.Clean($"{flake.Describe()}: {links.Job(failedId)}\n")
            : "";
        testCase.Add(new XElement("system-out", $"{flaky}Cell {cell.Job.CellKey}, attempt {cell.Job.Attempt}, job {cell.Job.Id}: {links.Job(cell.Job.Id)}"));
        return testCase;
    }

    private static XElement TempestTestCase(ReportedCell cell, TempestTestRecord test, string classname, ReportLinks links)
    {
        var testCase = new XElement("testcase",
            new XAttribute("name", LogTail.Clean(test.TestId)),
            new XAttribute("classname", classname),
            new XAttribute("time", Seconds(test.Duration.TotalSeconds)));
        if (test.Status == TempestTestStatus.Failed)
        {
            string where = $"Tempest step {test.StepOrdinal} (phase {test.Phase}) of job {cell.Job.Id}: {links.Job(cell.Job.Id)}";
            testCase.Add(new XElement("failure",
                new XAttribute("type", "tempest"),
                new XAttribute("message", LogTail.Clean(test.FailureLine ?? "failed")),
                LogTail.Clean($"{where}\n\n{test.Traceback}".TrimEnd())));
        }
        else if (test.Status == TempestTestStatus.Skipped)
        {
            testCase.Add(new XElement("skipped", new XAttribute("type", "tempest"), new XAttribute("message", LogTail.Clean(test.SkipReason ?? ""))));
        }

        return testCase;
    }

    /// <summary>The failing step (name, kind, phase, exit code) and where the whole log is.</summary>
    private static string Evidence(ReportedCell cell, ReportLinks links)
    {
        string step = cell.FailedStep is { } failed
            ? $"Failed step: '{failed.Name}' ({failed.Kind.ToWire()}, phase {failed.Phase}){(failed.ExitCode is { } code ? $", exit code {code}" : "")}, {failed.Result.ToWire()}"
            : "No step failed: the job ended before or between its steps.";
        return LogTail.Clean($"{step}\nLog: {links.JobLog(cell.Job.Id)}");
    }

    private static bool IsFailure(JobResult result) => result is JobResult.Failure or JobResult.Timeout;

    private static bool IsError(JobResult result) => result is JobResult.Error or JobResult.Interrupted;

    private static bool IsSkipped(JobResult result) => result is JobResult.Cancelled or JobResult.Superseded or JobResult.Skipped;

    private static XElement Property(string name, string value) => new("property", new XAttribute("name", name), new XAttribute("value", value));


    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(double seconds) => seconds.ToString("0.000", CultureInfo.InvariantCulture);
}
