using System.Net;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Web.Pages;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Web;

/// <summary>
/// Every page renders stored values through Razor components, which encode whatever they output: markup and quotes in
/// a branch, a cell, a summary, a step, a log, a report, a poll error or a scenario file come out as text, never as markup,
/// on every page and in the matrix cells' history links and the cell history page.
/// </summary>
[Trait("Category", "Service")]
public sealed class PageEncodingTests : IAsyncLifetime, IDisposable
{
    private const string Hostile = "<script>alert(1)</script>\"'";
    private const string Encoded = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;";

    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly int _port = FreePort.Next();
    private WebApplication? _app;
    private long _runId;
    private long _failedJob;
    private long _upgradeJob;
    private long _queuedJob;

    public async Task InitializeAsync()
    {
        CiRunnerSettings settings = _folder.LoadLocalSite(_remote, _port, site =>
        {
            site.Set("Http:ApiTokenVariable", null);
            string token = site.Write("token", "the-token\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(token, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            site.Set("Http:ApiTokenFile", token);
        });

        // Given a run on a branch named with markup and quotes, whose jobs, steps, log, report and poll errors carry it too
        var store = new ResultsStore(new ResultsDatabase(settings.DataPaths.DatabaseFile, TimeProvider.System), TimeProvider.System);
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Manual, "keystone", $"feature/{Hostile}", new string('a', 40), ChangeRef: $"refs/changes/{Hostile}", RequestedBy: Hostile),
            [
                new NewJob($"2024.2/{Hostile}", JobKind.Deploy, "2024.2", null, "basic"),
                new NewJob("2024.1->2024.2/basic:upgrade", JobKind.Upgrade, "2024.2", "2024.1", "basic"),
            ],
            CancellationToken.None);
        (_runId, _failedJob, _upgradeJob) = (run.Run.Id, run.Jobs[0].Id, run.Jobs[1].Id);
        string log = settings.DataPaths.JobLogFile(_runId, _failedJob);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, $"step output {Hostile}\n");
        Assert.True(await store.Jobs.MarkStartedAsync(_failedJob, $"sha256:{Hostile}", log, CancellationToken.None));
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        StepRecord step = await store.JobProgress.AddStepAsync(_failedJob, new NewStep(0, "deploy", Hostile, StepKind.Command, now, now.AddSeconds(3), 1, JobResult.Failure), CancellationToken.None);
        await store.JobProgress.AddIdempotencyChangesAsync(_failedJob, step.Id, [new NewIdempotencyChange("File", Hostile, "content", Hostile, Hostile, "keystone", $"manifests/{Hostile}.pp", 7)], CancellationToken.None);
        await store.JobProgress.AddTempestTestsAsync(
            _failedJob,
            step.Id,
            [
                new TempestTestResult($"tempest.api.{Hostile}", "tempest.api", TempestTestStatus.Failed, TimeSpan.FromSeconds(2), $"Traceback\nValueError: {Hostile}", null),
                new TempestTestResult("tempest.api.skipped", "tempest.api", TempestTestStatus.Skipped, TimeSpan.Zero, null, Hostile),
                new TempestTestResult("tempest.api.passed", "tempest.api", TempestTestStatus.Passed, TimeSpan.FromSeconds(1), null, null),
            ],
            CancellationToken.None);
        await store.JobProgress.RecordModulesAsync(_failedJob, [new JobModuleRecord("keystone", $"https://user:secret@example.org/{Hostile}", Hostile, new string('b', 40))], CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(_failedJob, JobResult.Failure, $"failure: step {Hostile}", CancellationToken.None);
        Assert.True(await store.Jobs.MarkStartedAsync(_upgradeJob, "sha256:image", null, CancellationToken.None));
        await store.Jobs.MarkFinishedAsync(_upgradeJob, new JobEnd(JobResult.Success, "passed") { PackageSnapshot = new PackageSnapshotInfo("2024.2", Hostile, Hostile, "sha256:x", 3) }, CancellationToken.None);
        await store.Reports.PlanAsync(_ => ["gerrit"], 10, CancellationToken.None);
        await store.Reports.SettleAsync(_runId, "gerrit", ReportState.Failed, Hostile, Hostile, CancellationToken.None);
        // and a commit run on a branch named with it, one cell decided (the matrix shows it) and one still queued
        RunDetail queued = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", Hostile, new string('c', 40)),
            [new NewJob($"2024.1/{Hostile}", JobKind.Deploy, "2024.1", null, "basic"), new NewJob($"2024.2/{Hostile}", JobKind.Deploy, "2024.2", null, "basic")],
            CancellationToken.None);
        _queuedJob = queued.Jobs[0].Id;
        Assert.True(await store.Jobs.MarkStartedAsync(queued.Jobs[1].Id, "sha256:image", null, CancellationToken.None));
        await store.Jobs.MarkFinishedAsync(queued.Jobs[1].Id, JobResult.Failure, "failed", CancellationToken.None);
        await store.PollStatus.RecordFailureAsync("keystone", $"git fetch failed: {Hostile}", CancellationToken.None);
        await store.PollState.UpsertAsync("keystone", Hostile, new string('d', 40), CancellationToken.None);

        _app = await InProcessHost.StartAsync(settings);

        // and a scenario file broken with it after the start (a broken file at the start stops the service)
        _folder.Write("scenarios/broken.yaml", $"name: broken\nmanifest: basic.pp\nmodules: [keystone]\nupgrade: '{Hostile.Replace("'", "''", StringComparison.Ordinal)}'\n");
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose()
    {
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task EveryPage_ValuesWithMarkupAndQuotes_ComeOutEncoded()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };
        string query = Uri.EscapeDataString(Hostile);
        string[] pages =
        [
            "/", "/runs", $"/runs?module=keystone&branch={query}", $"/runs/{_runId}", $"/jobs/{_failedJob}", $"/jobs/{_upgradeJob}",
            $"/jobs/{_queuedJob}", "/modules", "/scenarios", $"/login?returnUrl=/runs?b={query}",
            CiRunner.Web.CellHistoryEndpoints.PageLink("keystone", Hostile, $"2024.2/{Hostile}"),
        ];

        // When every page that shows one of those values is read (and the login form answers a wrong token)
        var answers = new List<(string Page, string Html)>();
        foreach (string path in pages)
        {
            answers.Add((path, await client.GetStringAsync(new Uri(path, UriKind.Relative))));
        }

        using HttpResponseMessage refused = await client.PostAsync(
            new Uri("/login", UriKind.Relative),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "wrong", ["returnUrl"] = $"/queue?{Hostile}" }));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        answers.Add(("POST /login", await refused.Content.ReadAsStringAsync()));

        // Then each shows it as text: encoded, quotes included, in element text and in attribute values alike
        foreach ((string page, string html) in answers)
        {
            Assert.True(html.Contains(Encoded, StringComparison.Ordinal), $"{page} does not show the value encoded:\n{html}");
            // The one script a page may carry is the queued job's live log, a constant.
            Assert.False(html.Replace(LiveLogScript.Element.Value, "", StringComparison.Ordinal).Contains("<script", StringComparison.OrdinalIgnoreCase), $"{page} has the value as markup:\n{html}");
            Assert.False(html.Contains("\"'", StringComparison.Ordinal), $"{page} has the value's quotes unencoded:\n{html}");
        }

        string jobPage = answers.Single(a => a.Page == $"/jobs/{_failedJob}").Html;
        Assert.Contains($"<pre class=\"log\" id=\"log\">step output {Encoded}", jobPage, StringComparison.Ordinal);
        Assert.Contains($"<td>{Encoded}</td><td>command</td>", jobPage, StringComparison.Ordinal);
        Assert.Contains($"data-cell=\"2024.2/{Encoded}\"", answers.Single(a => a.Page == "/").Html, StringComparison.Ordinal);
        Assert.Contains($"name=\"returnUrl\" value=\"/runs?b={Encoded}\"", answers.Single(a => a.Page.StartsWith("/login", StringComparison.Ordinal)).Html, StringComparison.Ordinal);
    }
}
