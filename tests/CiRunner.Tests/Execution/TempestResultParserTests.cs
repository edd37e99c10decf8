using CiRunner.Execution;

namespace CiRunner.Tests.Execution;

/// <summary>
/// Tempest's results as the tempest step writes them (<c>stestr last --subunit | subunit2junitxml</c>), read from runs
/// captured against a real Keystone and Glance deployed by the keystone-glance manifest under systemd.
/// </summary>
public sealed class TempestResultParserTests
{
    [Fact]
    public void Parse_Tempest33WithGlanceStopped_ReadsPassesFailuresWithTracebacksAndClassSkips()
    {
        // Given Tempest 33.0.0 (Debian 12, Zed) run on the identity and image smoke tests with glance-api stopped and
        // test_update_image excluded
        string xml = Captured("tempest-33-glance-down.junit.xml");

        // When it is read
        IReadOnlyList<TempestTestResult> tests = TempestResultParser.Parse(xml);

        // Then every test is there once: 14 passed, the 3 image tests that needed glance failed, and the identity v2
        // classes were skipped in setUpClass; the excluded test never ran
        Assert.Equal(20, tests.Count);
        Assert.Equal(
            (14, 3, 3),
            (tests.Count(t => t.Status == TempestTestStatus.Passed), tests.Count(t => t.Status == TempestTestStatus.Failed), tests.Count(t => t.Status == TempestTestStatus.Skipped)));
        Assert.DoesNotContain(tests, t => t.TestId.Contains("test_update_image", StringComparison.Ordinal));
        Assert.Equal(
            [
                "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image",
                "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_register_upload_get_image_file",
                "tempest.api.image.v2.test_versions.VersionsTest.test_list_versions",
            ],
            tests.Where(t => t.Status == TempestTestStatus.Failed).Select(t => t.ShortName));

        TempestTestResult delete = tests.Single(t => t.ShortName.EndsWith("test_delete_image", StringComparison.Ordinal));
        Assert.Equal("tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image[id-f848bb94-1c6e-45a4-8726-39e3a5b23535,smoke]", delete.TestId);
        Assert.Equal("tempest.api.image.v2.test_images.BasicOperationsImagesTest", delete.ClassName);
        Assert.Equal(TimeSpan.FromSeconds(0.046), delete.Duration);
        Assert.Null(delete.SkipReason);
        Assert.Contains("File \"/usr/lib/python3/dist-packages/tempest/api/image/v2/test_images.py\", line 469, in test_delete_image", delete.Traceback, StringComparison.Ordinal);
        Assert.Contains("<urllib3.connection.HTTPConnection object", delete.Traceback, StringComparison.Ordinal);
        Assert.StartsWith("urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='127.0.0.1', port=9292): Max retries exceeded with url: /v2/images", delete.FailureLine, StringComparison.Ordinal);

        TempestTestResult v2 = tests.Single(t => t.TestId == "setUpClass (tempest.api.identity.admin.v2.test_users.UsersTestJSON)");
        Assert.Equal((TempestTestStatus.Skipped, "tempest.api.identity.admin.v2.test_users.UsersTestJSON", "Identity api v2 is not enabled"), (v2.Status, v2.ClassName, v2.SkipReason));
        Assert.Null(v2.Traceback);

        TempestTestResult groups = tests.Single(t => t.ShortName.EndsWith("test_group_users_add_list_delete", StringComparison.Ordinal));
        Assert.Equal((TempestTestStatus.Passed, TimeSpan.FromSeconds(6.302)), (groups.Status, groups.Duration));
    }

    [Fact]
    public void Parse_Tempest43AgainstKeystone2025_1_ReadsTheOneRealFailure()
    {
        // Given Tempest 43.0.0 (Debian 13) against Keystone 27 (2025.1): the credential update test sends fields
        // that Keystone's schema now refuses
        IReadOnlyList<TempestTestResult> tests = TempestResultParser.Parse(Captured("tempest-43-credentials-failure.junit.xml"));

        TempestTestResult failed = Assert.Single(tests, t => t.Status == TempestTestStatus.Failed);
        Assert.Equal(18, tests.Count);
        Assert.Equal(17, tests.Count(t => t.Status == TempestTestStatus.Passed));
        Assert.Equal("tempest.api.identity.admin.v3.test_credentials.CredentialsTestJSON.test_credentials_create_get_update_delete", failed.ShortName);
        Assert.Equal("tempest.lib.exceptions.BadRequest: Bad request", failed.FailureLine);
        Assert.Contains("Invalid input for field/attribute credential", failed.Traceback, StringComparison.Ordinal);
        Assert.Contains("Additional properties are not allowed", failed.Traceback, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Tempest33SmokeRunThatPassed_HasNoFailure()
    {
        IReadOnlyList<TempestTestResult> tests = TempestResultParser.Parse(Captured("tempest-33-smoke-passed.junit.xml"));

        Assert.Equal((21, 18, 3), (tests.Count, tests.Count(t => t.Status == TempestTestStatus.Passed), tests.Count(t => t.Status == TempestTestStatus.Skipped)));
        Assert.DoesNotContain(tests, t => t.Status == TempestTestStatus.Failed);
    }

    [Theory]
    [InlineData("<testsuite errors=\"0\" failures=\"0\" name=\"\" tests=\"1\"><testcase classname=\"a.B\" name=\"test_x\"", "not valid XML")]
    [InlineData("<html><body>502</body></html>", "no <testsuite>")]
    [InlineData("", "not valid XML")]
    public void Parse_NotJUnit_IsAFormatExceptionSayingWhy(string text, string expected)
    {
        FormatException error = Assert.Throws<FormatException>(() => TempestResultParser.Parse(text));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HugeTraceback_KeepsItsEnd()
    {
        string traceback = "Traceback (most recent call last):\n" + new string('x', TempestResultParser.MaxTracebackLength) + "\nValueError: the end\n";
        string xml = $"<testsuite name=\"\" tests=\"1\" failures=\"1\" errors=\"0\"><testcase classname=\"a.B\" name=\"test_x\" time=\"1\"><failure>{traceback}</failure></testcase></testsuite>";

        TempestTestResult test = Assert.Single(TempestResultParser.Parse(xml));

        Assert.StartsWith("[... ", test.Traceback, StringComparison.Ordinal);
        Assert.EndsWith("ValueError: the end", test.Traceback, StringComparison.Ordinal);
        Assert.True(test.Traceback!.Length < TempestResultParser.MaxTracebackLength + 64);
    }

    [Fact]
    public void PythonTraceback_DropsTheLogLinesCapturedBeforeIt()
    {
        TempestTestResult failed = TempestResultParser.Parse(Captured("tempest-43-credentials-failure.junit.xml")).Single(t => t.Status == TempestTestStatus.Failed);

        string traceback = TempestText.PythonTraceback(failed.Traceback!);

        Assert.StartsWith("Traceback (most recent call last):", traceback, StringComparison.Ordinal);
        Assert.DoesNotContain("pythonlogging", traceback, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_FailedTests_FailTheStepNamingTheFirstFewWithTheirExceptions()
    {
        // Given the run with glance-api stopped (3 failures), and one with three more failures
        IReadOnlyList<TempestTestResult> tests = TempestResultParser.Parse(Captured("tempest-33-glance-down.junit.xml"));
        List<TempestTestResult> many = [.. tests, .. tests.Where(t => t.Status == TempestTestStatus.Failed).Select(t => t with { TestId = t.TestId + "_again" })];

        TempestStepResult three = TempestResults.Judge(1, tests);
        TempestStepResult six = TempestResults.Judge(1, many);

        Assert.Equal(JobResult.Failure, three.Result);
        Assert.StartsWith("3 of 20 Tempest tests failed (14 passed, 3 skipped): tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image (urllib3.exceptions.MaxRetryError: ", three.Message, StringComparison.Ordinal);
        Assert.Contains("; tempest.api.image.v2.test_versions.VersionsTest.test_list_versions (", three.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("more", three.Message, StringComparison.Ordinal);
        Assert.EndsWith("; and 3 more", six.Message, StringComparison.Ordinal);
        Assert.Same(tests, three.Tests);
    }

    [Fact]
    public void Judge_EveryWayOfNotPassing_IsAFailureThatSaysWhich()
    {
        var passed = new TempestTestResult("tempest.a.B.test_p[smoke]", "tempest.a.B", TempestTestStatus.Passed, TimeSpan.FromSeconds(1), null, null);
        var skipped = new TempestTestResult("setUpClass (tempest.a.C)", "tempest.a.C", TempestTestStatus.Skipped, TimeSpan.Zero, null, "Identity api v2 is not enabled");

        Assert.Equal((JobResult.Success, null), Verdict(TempestResults.Judge(0, [passed, skipped])));
        Assert.Equal(
            (JobResult.Failure, "no Tempest test ran (tempest run exited 1): do the step's include and exclude lists select any?"),
            Verdict(TempestResults.Judge(1, [])));
        Assert.Equal(
            (JobResult.Failure, "no Tempest test passed: the one selected test was skipped (\"Identity api v2 is not enabled\")"),
            Verdict(TempestResults.Judge(1, [skipped])));
        Assert.Equal(
            (JobResult.Failure, "tempest run exited 2 though no test failed (1 passed, 0 failed, 1 skipped)"),
            Verdict(TempestResults.Judge(2, [passed, skipped])));
    }

    private static (JobResult, string?) Verdict(TempestStepResult result) => (result.Result, result.Message);

    private static string Captured(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Execution", "TestData", file));
}
