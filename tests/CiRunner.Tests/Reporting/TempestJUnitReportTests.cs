using System.Xml.Linq;
using CiRunner.Execution;
using CiRunner.Reporting;
using CiRunner.Results;
using static CiRunner.Tests.Reporting.ReportSamples;

namespace CiRunner.Tests.Reporting;

/// <summary>Tempest tests in a run's JUnit XML: one test case each under their cell, valid for Jenkins' schema.</summary>
public sealed class TempestJUnitReportTests
{
    [Fact]
    public void Build_CellsWithTempestTests_OneTestCasePerTestAfterItsCell_ValidAgainstJenkinsJUnitSchema()
    {
        // Given a run: a passed deploy cell whose Tempest run passed, and an upgrade cell whose Tempest run after the
        // upgrade failed (the real Tempest 43 run against Keystone 2025.1, one failure) after one that passed after deploy
        IReadOnlyList<TempestTestResult> afterUpgrade = TempestResultParser.Parse(Captured("tempest-43-credentials-failure.junit.xml"));
        var step = new StepRecord(5, 8, 6, "upgrade", "tempest", StepKind.Tempest, Started, Started.AddSeconds(83), TimeSpan.FromSeconds(83), 1, JobResult.Failure);
        ReportedCell deploy = Cell(7, "keystone-glance", JobResult.Success, TimeSpan.FromMinutes(12)) with
        {
            TempestTests = Stored(7, stepId: 3, "deploy", 3, Passes(2)),
        };
        ReportedCell upgrade = Cell(8, "keystone-glance", JobResult.Failure, TimeSpan.FromMinutes(30), summary: "failure: step 'tempest' (tempest, phase upgrade): 1 of 18 Tempest tests failed",
            kind: JobKind.Upgrade, release: "2024.2", fromRelease: "zed", failedStep: step) with
        {
            TempestTests = [.. Stored(8, stepId: 2, "deploy", 3, Passes(1)), .. Stored(8, stepId: 5, "upgrade", 6, afterUpgrade)],
        };

        // When the report is built
        string xml = JUnitReport.Build(Run(deploy, upgrade), new Dictionary<long, string>(), Links, "ci-host").ToString();

        // Then it is valid, counts every test case, and each Tempest test follows its cell under <module>.<branch>.<cell>.<phase>
        Assert.Empty(JUnitSchema.Validate(xml));
        XElement suite = XDocument.Parse(xml).Root!.Element("testsuite")!;
        Assert.Equal(("23", "2", "0", "0"), ((string)suite.Attribute("tests")!, (string)suite.Attribute("failures")!, (string)suite.Attribute("errors")!, (string)suite.Attribute("skipped")!));
        List<XElement> cases = [.. suite.Elements("testcase")];
        Assert.Equal(
            ["keystone.master", "keystone.master.cirunner-zed-keystone-glance.deploy", "keystone.master.cirunner-zed-keystone-glance.deploy", "keystone.master"],
            cases.Take(4).Select(c => (string)c.Attribute("classname")!));
        Assert.Equal("cirunner-zed-2024.2-keystone-glance-upgrade", (string)cases[3].Attribute("name")!);
        Assert.Equal("keystone.master.cirunner-zed-2024.2-keystone-glance-upgrade.deploy", (string)cases[4].Attribute("classname")!);
        Assert.All(cases.Skip(5), c => Assert.Equal("keystone.master.cirunner-zed-2024.2-keystone-glance-upgrade.upgrade", (string)c.Attribute("classname")!));

        XElement failed = cases.Single(c => ((string)c.Attribute("name")!).Contains("test_credentials_create_get_update_delete", StringComparison.Ordinal));
        Assert.Equal(
            "tempest.api.identity.admin.v3.test_credentials.CredentialsTestJSON.test_credentials_create_get_update_delete[id-7cd59bf9-bda4-4c72-9467-d21cab278355,smoke]",
            (string)failed.Attribute("name")!);
        Assert.Equal("0.301", (string)failed.Attribute("time")!);
        XElement failure = failed.Element("failure")!;
        Assert.Equal(("tempest", "tempest.lib.exceptions.BadRequest: Bad request"), ((string)failure.Attribute("type")!, (string)failure.Attribute("message")!));
        Assert.StartsWith("Tempest step 6 (phase upgrade) of job 8: https://ci.example.org/jobs/8\n", failure.Value, StringComparison.Ordinal);
        Assert.Contains("raise exceptions.BadRequest(resp_body, resp=resp)", failure.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_SkippedTempestTest_IsSkippedWithItsReason()
    {
        IReadOnlyList<TempestTestResult> run = TempestResultParser.Parse(Captured("tempest-33-smoke-passed.junit.xml"));
        ReportedCell cell = Cell(7, "keystone-glance", JobResult.Success, TimeSpan.FromMinutes(12)) with { TempestTests = Stored(7, 3, "deploy", 3, run) };

        string xml = JUnitReport.Build(Run(cell), new Dictionary<long, string>(), Links, "ci-host").ToString();

        Assert.Empty(JUnitSchema.Validate(xml));
        XElement suite = XDocument.Parse(xml).Root!.Element("testsuite")!;
        Assert.Equal(("22", "0", "3"), ((string)suite.Attribute("tests")!, (string)suite.Attribute("failures")!, (string)suite.Attribute("skipped")!));
        XElement skipped = suite.Elements("testcase").First(c => c.Element("skipped") is not null);
        Assert.StartsWith("setUpClass (tempest.api.identity.", (string)skipped.Attribute("name")!, StringComparison.Ordinal);
        Assert.Equal("Identity api v2 is not enabled", (string)skipped.Element("skipped")!.Attribute("message")!);
    }

    private static List<TempestTestRecord> Stored(long jobId, long stepId, string phase, int ordinal, IEnumerable<TempestTestResult> tests) =>
        tests.Select((t, i) => new TempestTestRecord(i + 1, jobId, stepId, phase, ordinal, t.TestId, t.ClassName, t.Status, t.Duration, t.Traceback, t.SkipReason)).ToList();

    private static IEnumerable<TempestTestResult> Passes(int count) =>
        Enumerable.Range(1, count).Select(i => new TempestTestResult($"tempest.api.identity.v3.test_x.X.test_{i}[id-{i},smoke]", "tempest.api.identity.v3.test_x.X", TempestTestStatus.Passed, TimeSpan.FromSeconds(i), null, null));

    private static string Captured(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Execution", "TestData", file));
}
