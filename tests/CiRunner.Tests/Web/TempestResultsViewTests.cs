using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Web;

/// <summary>
/// A job whose tempest step failed (the real Tempest 33 run with glance-api stopped: 14 passed, 3 failed, 3 skipped), as
/// the job page, <c>GET /api/jobs/{id}</c> and <c>cirunner show</c> present it: the counts, and each failed test with
/// its traceback.
/// </summary>
[Trait("Category", "Service")]
public sealed class TempestResultsViewTests : IAsyncLifetime, IDisposable
{
    private const string FailedTest = "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image[id-f848bb94-1c6e-45a4-8726-39e3a5b23535,smoke]";

    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly TempDirectory _scratch = new();
    private readonly int _port = FreePort.Next();
    private CiRunnerSettings _settings = null!;
    private WebApplication? _app;
    private long _runId;
    private long _jobId;

    public async Task InitializeAsync()
    {
        _settings = _folder.LoadLocalSite(_remote, _port);

        // Given a finished job: apply passed, then its tempest step failed, recorded as the executor hands it over
        ResultsStore store = new(new ResultsDatabase(_settings.DataPaths.DatabaseFile, TimeProvider.System), TimeProvider.System);
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "master", new string('a', 40)),
            [new NewJob("2024.2/basic", JobKind.Deploy, "2024.2", null, "basic")],
            CancellationToken.None);
        (_runId, _jobId) = (run.Run.Id, run.Jobs[0].Id);
        Assert.True(await store.Jobs.MarkStartedAsync(_jobId, "sha256:image", null, CancellationToken.None));
        JobSpec job = TestJobs.Job("i", "image", _scratch) with { RunId = _runId, JobId = _jobId };
        var recorder = new JobRecorder(store.JobProgress);
        DateTimeOffset started = TimeProvider.System.GetUtcNow();
        await recorder.StepFinishedAsync(job, new StepOutcome("deploy", 0, "apply", StepKind.Apply, JobResult.Success, 2, started, TimeSpan.FromSeconds(150), null), [], CancellationToken.None);
        TempestStepResult tempest = TempestResults.Judge(1, TempestResultParser.Parse(Captured("tempest-33-glance-down.junit.xml")));
        await recorder.StepFinishedAsync(
            job,
            new StepOutcome("deploy", 1, "tempest", StepKind.Tempest, tempest.Result, 1, started, TimeSpan.FromSeconds(95), tempest.Message) { TempestTests = tempest.Tests },
            [],
            CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(_jobId, JobResult.Failure, $"failure: step 'tempest' (tempest, phase deploy): {tempest.Message}", CancellationToken.None);

        _app = await InProcessHost.StartAsync(_settings);
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose()
    {
        _remote.Dispose();
        _scratch.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task JobPage_TempestFailure_CountsThenEachFailedTestWithItsEncodedTraceback()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        string html = await client.GetStringAsync(new Uri($"/jobs/{_jobId}", UriKind.Relative));
        string page = WebUtility.HtmlDecode(html);

        // The summary names the failed tests; the section counts them and shows each traceback, markup encoded
        Assert.Contains("3 of 20 Tempest tests failed (14 passed, 3 skipped): tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image", page, StringComparison.Ordinal);
        Assert.Contains("<section id=\"tempest\"><h2>Tempest</h2><h3>Step 1 tempest, phase deploy</h3>", html, StringComparison.Ordinal);
        Assert.Contains("20 tests: ", page, StringComparison.Ordinal);
        Assert.Contains("passed</span> 14 · ", page, StringComparison.Ordinal);
        Assert.Contains("failed</span> 3 · ", page, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(html, "<details class=\"tempest-failed\" open>"));
        Assert.Contains(FailedTest, page, StringComparison.Ordinal);
        Assert.Contains("urllib3.exceptions.NewConnectionError: &lt;urllib3.connection.HTTPConnection object", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<urllib3.connection", html, StringComparison.Ordinal);
        Assert.Contains("<details class=\"tempest-skipped\"><summary>3 skipped</summary>", html, StringComparison.Ordinal);
        Assert.Contains("Identity api v2 is not enabled", page, StringComparison.Ordinal);
        Assert.Contains("<details class=\"tempest-passed\"><summary>14 passed</summary>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiJob_TempestFailure_HasEveryTestWithStatusAndTraceback()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        JsonElement detail = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_jobId}", UriKind.Relative))).RootElement;

        JsonElement[] tests = [.. detail.GetProperty("tempestTests").EnumerateArray()];
        Assert.Equal(20, tests.Length);
        JsonElement first = tests[0];
        Assert.Equal((FailedTest, "failed", "deploy", 1), (first.GetProperty("testId").GetString(), first.GetProperty("status").GetString(), first.GetProperty("phase").GetString(), first.GetProperty("stepOrdinal").GetInt32()));
        Assert.Contains("in test_delete_image", first.GetProperty("traceback").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("urllib3.exceptions.MaxRetryError: ", first.GetProperty("failureLine").GetString(), StringComparison.Ordinal);
        Assert.Equal(["failed", "failed", "failed", "skipped", "skipped", "skipped"], tests.Take(6).Select(t => t.GetProperty("status").GetString()));
        Assert.Equal("Identity api v2 is not enabled", tests[3].GetProperty("skipReason").GetString());
    }

    [Fact]
    public async Task ShowVerb_TempestFailure_CountsAndEachFailedTestWithItsPythonTraceback()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exitCode = await CliApplication.Build().Parse(["show", _runId.ToString(CultureInfo.InvariantCulture), "--config", _settings.ConfigFile])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);

        string text = output.ToString();
        Assert.Equal((0, ""), (exitCode, error.ToString()));
        Assert.Contains("  Tempest, step 1 'tempest' (phase deploy): 20 tests, 14 passed, 3 failed, 3 skipped", text, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(text, "    FAILED tempest.api.image.v2."));
        Assert.Contains($"    FAILED {FailedTest} (", text, StringComparison.Ordinal);
        string[] lines = text.Split(Environment.NewLine);
        int failed = Array.FindIndex(lines, l => l.StartsWith($"    FAILED {FailedTest}", StringComparison.Ordinal));
        Assert.Equal("      Traceback (most recent call last):", lines[failed + 1]);
        Assert.Contains("      urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='127.0.0.1', port=9292): Max retries exceeded with url: /v2/images", text, StringComparison.Ordinal);

        // The log lines a test captured are left to the page and the API: a terminal needs the traceback
        Assert.DoesNotContain("pythonlogging", text, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    private static string Captured(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Execution", "TestData", file));
}
