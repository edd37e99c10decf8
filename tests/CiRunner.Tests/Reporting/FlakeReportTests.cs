using System.Xml.Linq;
using CiRunner.Reporting;
using CiRunner.Results;
using static CiRunner.Tests.Reporting.ReportSamples;

namespace CiRunner.Tests.Reporting;

/// <summary>
/// What reports make of the flake ledger: a known flaky failure does not vote -1 on its own and is marked on its line;
/// a flaky cell passes and says which attempt failed; JUnit and webhooks carry the same classification.
/// </summary>
public sealed class FlakeReportTests
{
    private const string Signature = "deploy/apply: Error: Could not find class ::keystone::nope";

    private static readonly FlakeLedgerEntry ThreeOfTwenty = new(
        "keystone", "master", "zed/scenario001", Signature, Runs: 20, Flaky: 3, Failed: 1, Started, Finished, LastJobId: 5);

    [Fact]
    public void Decide_TheOnlyFailureIsKnownFlaky_PostsWithoutAVoteAndMarksTheLine()
    {
        FinishedRun run = Run(
            Cell(7, "scenario001", JobResult.Failure, TimeSpan.FromSeconds(65)) with { Flake = new CellFlake(CellFlake.KnownFlaky, Signature, null, ThreeOfTwenty) },
            Cell(8, "scenario002", JobResult.Success, TimeSpan.FromSeconds(30)));

        GerritVerdict verdict = GerritReview.Decide(run, Options());
        string message = GerritReview.FormatMessage(run, verdict, Options(), Links);

        Assert.Equal((GerritVerdictKind.Post, false, (int?)null), (verdict.Kind, verdict.Passed, verdict.Vote));
        Assert.Contains(
            $"- cirunner-zed-scenario001 https://ci.example.org/jobs/7 : FAILURE in 1m 05s (known flaky: 3 of the last 20 runs, signature {Signature})",
            message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_AKnownFlakyFailureBesideARealOne_StillVotesMinusOne()
    {
        FinishedRun run = Run(
            Cell(7, "scenario001", JobResult.Failure, TimeSpan.FromSeconds(65)) with { Flake = new CellFlake(CellFlake.KnownFlaky, Signature, null, ThreeOfTwenty) },
            Cell(8, "scenario002", JobResult.Timeout, TimeSpan.FromHours(1)));

        GerritVerdict verdict = GerritReview.Decide(run, Options());

        Assert.Equal((false, (int?)-1), (verdict.Passed, verdict.Vote));
    }

    [Fact]
    public void Decide_AFlakyCell_PassesAndVotesPlusOne_ItsLineSaysSuccessAndWhichAttemptFailed()
    {
        FinishedRun run = Run(Cell(9, "scenario001", JobResult.Flaky, TimeSpan.FromSeconds(40), attempt: 2) with { Flake = new CellFlake(CellFlake.Flaky, Signature, 8, null) });

        GerritVerdict verdict = GerritReview.Decide(run, Options());
        string message = GerritReview.FormatMessage(run, verdict, Options(), Links);

        Assert.Equal((true, (int?)1), (verdict.Passed, verdict.Vote));
        Assert.Contains($": SUCCESS in 40s (flaky: job 8 failed with signature {Signature}, then passed on the same lockfile)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void JUnit_FlakyAndKnownFlaky_StayValidAgainstJenkinsSchema_AndSaySo()
    {
        FinishedRun run = Run(
            Cell(9, "scenario001", JobResult.Flaky, TimeSpan.FromSeconds(40), attempt: 2) with { Flake = new CellFlake(CellFlake.Flaky, Signature, 8, null) },
            Cell(10, "scenario002", JobResult.Failure, TimeSpan.FromSeconds(65), summary: "failure: step 'apply'") with { Flake = new CellFlake(CellFlake.KnownFlaky, Signature, null, ThreeOfTwenty) });

        string xml = JUnitReport.Build(run, new Dictionary<long, string>(), Links, "ci-host").ToString();

        Assert.Empty(JUnitSchema.Validate(xml));
        XElement suite = XDocument.Parse(xml).Root!.Element("testsuite")!;
        Assert.Equal("1", (string)suite.Attribute("failures")!);
        Assert.Equal(("1", "1"), (Property(suite, "flaky"), Property(suite, "known_flaky_failures")));
        XElement[] cases = [.. suite.Elements("testcase")];
        Assert.Null(cases[0].Element("failure"));
        Assert.StartsWith($"flaky: job 8 failed with signature {Signature}, then passed on the same lockfile: https://ci.example.org/jobs/8", cases[0].Element("system-out")!.Value, StringComparison.Ordinal);
        Assert.Equal($"known flaky: 3 of the last 20 runs, signature {Signature}; failure: step 'apply'", (string)cases[1].Element("failure")!.Attribute("message")!);
    }

    [Fact]
    public void Webhook_CellsCarryTheClassification()
    {
        FinishedRun run = Run(Cell(10, "scenario002", JobResult.Failure, TimeSpan.FromSeconds(65)) with { Flake = new CellFlake(CellFlake.KnownFlaky, Signature, null, ThreeOfTwenty) });

        FlakeBody flake = RunSummaryBody.From(run, Links).Cells.Single().Flake!;

        Assert.Equal(new FlakeBody("knownflaky", Signature, null, 3, 20, $"known flaky: 3 of the last 20 runs, signature {Signature}"), flake);
    }

    private static string Property(XElement suite, string name) =>
        (string)suite.Element("properties")!.Elements("property").Single(p => (string)p.Attribute("name")! == name).Attribute("value")!;
}
