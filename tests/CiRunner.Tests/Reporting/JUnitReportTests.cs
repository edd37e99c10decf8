using System.Xml.Linq;
using CiRunner.Reporting;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using static CiRunner.Tests.Reporting.ReportSamples;

namespace CiRunner.Tests.Reporting;

/// <summary>JUnit XML of a run: what Jenkins and GitLab read, checked against the schema Jenkins validates with.</summary>
public sealed class JUnitReportTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Build_EveryKindOfResult_ValidatesAgainstJenkinsJUnitSchema_WithFailuresErrorsAndSkips()
    {
        // Puppet colours its output, and a log may hold any byte a command printed: XML 1.0 cannot hold either.
        string log = _folder.Write("failed.log",
            string.Join('\n', Enumerable.Range(1, 200).Select(i => $"line {i}")) + "\n\u001b[1;31mError: Could not find class ::nosuchclass\u001b[0m\u0001\n");
        var step = new StepRecord(5, 8, 1, "upgrade", "apply", StepKind.Apply, Started, Started.AddSeconds(3), TimeSpan.FromSeconds(3), 4, JobResult.Failure);
        FinishedRun run = Run(
            Cell(7, "scenario001", JobResult.Success, TimeSpan.FromSeconds(192.5)),
            Cell(8, "scenario001", JobResult.Failure, TimeSpan.FromSeconds(65), summary: "failure: step 'apply' (apply, phase upgrade): exit 4", kind: JobKind.Upgrade, release: "2023.1", fromRelease: "zed", failedStep: step, logFile: log),
            Cell(9, "scenario002", JobResult.Error, TimeSpan.FromSeconds(1), summary: "error: image cirunner/release:zed is missing"),
            Cell(10, "scenario003", JobResult.Timeout, TimeSpan.FromHours(2), summary: "timeout after 2h"),
            Cell(11, "scenario004", JobResult.Cancelled, null, summary: "Cancelled by api before it started."));
        var tails = new Dictionary<long, string> { [8] = await LogTail.ReadAsync(log, 60, 16 * 1024, CancellationToken.None) };

        string xml = JUnitReport.Build(run, tails, Links, "ci-host").ToString();
        XDocument document = XDocument.Parse(xml);

        Assert.Empty(JUnitSchema.Validate(xml));
        XElement suite = document.Root!.Element("testsuite")!;
        Assert.Equal(("5", "2", "1", "1"), ((string)suite.Attribute("tests")!, (string)suite.Attribute("failures")!, (string)suite.Attribute("errors")!, (string)suite.Attribute("skipped")!));
        Assert.Equal("https://ci.example.org/runs/42", (string)suite.Attribute("url")!);
        List<XElement> cases = [.. suite.Elements("testcase")];
        Assert.Equal(["cirunner-zed-scenario001", "cirunner-zed-2023.1-scenario001-upgrade", "cirunner-zed-scenario002", "cirunner-zed-scenario003", "cirunner-zed-scenario004"],
            cases.Select(c => (string)c.Attribute("name")!));
        Assert.All(cases, c => Assert.Equal("keystone.master", (string)c.Attribute("classname")!));
        Assert.Equal("192.500", (string)cases[0].Attribute("time")!);
        Assert.Null(cases[0].Element("failure"));

        XElement failure = cases[1].Element("failure")!;
        Assert.Equal("failure: step 'apply' (apply, phase upgrade): exit 4", (string)failure.Attribute("message")!);
        Assert.Contains("Failed step: 'apply' (apply, phase upgrade), exit code 4", failure.Value, StringComparison.Ordinal);
        Assert.Contains("Log: https://ci.example.org/jobs/8/log", failure.Value, StringComparison.Ordinal);
        Assert.Contains("Error: Could not find class ::nosuchclass", failure.Value, StringComparison.Ordinal);
        Assert.DoesNotContain("line 100\n", failure.Value, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", failure.Value, StringComparison.Ordinal);

        Assert.Equal("error", (string)cases[2].Element("error")!.Attribute("type")!);
        Assert.Equal("timeout", (string)cases[3].Element("failure")!.Attribute("type")!);
        Assert.Equal("Cancelled by api before it started.", (string)cases[4].Element("skipped")!.Attribute("message")!);
    }

    [Fact]
    public void LatestAttempts_ARetriedCellIsReportedOnceByItsLastAttempt_InFirstQueuedOrder()
    {
        ReportedCell first = Cell(1, "a", JobResult.Error, TimeSpan.FromSeconds(1), attempt: 1);
        ReportedCell other = Cell(2, "b", JobResult.Success, TimeSpan.FromSeconds(1));
        ReportedCell retry = Cell(3, "a", JobResult.Success, TimeSpan.FromSeconds(1), attempt: 2);

        IReadOnlyList<JobRecord> latest = FinishedRunReader.LatestAttempts([first.Job, other.Job, retry.Job]);

        Assert.Equal([3L, 2L], latest.Select(j => j.Id));
    }
}
