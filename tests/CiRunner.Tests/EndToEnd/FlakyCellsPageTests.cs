using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// The dashboard's Flaky cells table in Debian's headless chromium, from the real host: a cell that failed and passed
/// on its re-run is listed with its signature and rate, marked known flaky, and links to the job that decided it,
/// whose page says which job it re-ran. The results are stored through the real stores (as the finishing job does);
/// running them is <see cref="FlakeLedgerTests"/>' part.
/// </summary>
[Trait("Category", "Service")]
public sealed class FlakyCellsPageTests : IAsyncLifetime, IDisposable
{
    private const string Flaky = "2024.1/basic";
    private const string Steady = "2024.1/other";

    private readonly ConfigFolder _folder = new();
    private readonly int _port = FreePort.Next();
    private WebApplication? _app;
    private long _failed;
    private long _rerun;

    private string BaseUrl => $"http://127.0.0.1:{_port}";

    public async Task InitializeAsync()
    {
        _folder.Set("Http:Listen", BaseUrl);
        _folder.Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());
        _folder.Save();
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        _app = await InProcessHost.StartAsync(loaded.Settings);

        // One run of two cells, stored after the start and its recovery, so the dispatcher never sees its jobs: one cell fails,
        // is re-run on the same lockfile and passes; the other passes at once
        RunStore runs = _app.Services.GetRequiredService<RunStore>();
        JobStore jobs = _app.Services.GetRequiredService<JobStore>();
        JobProgressStore progress = _app.Services.GetRequiredService<JobProgressStore>();
        RunDetail run = await runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "stable/2024.1", new string('a', 40)),
            [new NewJob(Flaky, JobKind.Deploy, "2024.1", null, "basic"), new NewJob(Steady, JobKind.Deploy, "2024.1", null, "other")],
            CancellationToken.None);
        _failed = run.Jobs[0].Id;
        await jobs.MarkStartedAsync(_failed, null, null, CancellationToken.None);
        await jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, CancellationToken.None);
        await jobs.MarkFinishedAsync(run.Jobs[1].Id, new JobEnd(JobResult.Success, "success: 1 step(s) passed") { FlakeReruns = 1 }, CancellationToken.None);
        await progress.AddStepAsync(
            _failed, new NewStep(1, "deploy", "apply", StepKind.Apply, TempDatabase.Start, TempDatabase.Start.AddSeconds(30), 4, JobResult.Failure), CancellationToken.None);
        JobCompletion failure = (await jobs.MarkFinishedAsync(
            _failed,
            new JobEnd(JobResult.Failure, "failure: step 'apply' (apply, phase deploy): puppet apply exited 4\nError: Could not start Service[keystone] at 12:01:02")
            { FlakeReruns = 1 },
            CancellationToken.None))!;
        _rerun = failure.Retry!.Id;
        await jobs.MarkStartedAsync(_rerun, null, null, CancellationToken.None);
        await jobs.MarkFinishedAsync(_rerun, new JobEnd(JobResult.Success, "success: 1 step(s) passed") { FlakeReruns = 1 }, CancellationToken.None);
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Dashboard_InChromium_ListsTheFlakyCellWithItsSignatureAndRate_AndLeadsToTheReRunThatDecidedIt()
    {
        await using BrowserSession browser = await BrowserSession.StartAsync(1280, 900);
        IPage page = browser.Page;

        // Given the dashboard
        await page.GotoAsync(BaseUrl + "/");

        // Then the matrix marks the cell flaky, and the Flaky cells table lists it alone
        Assert.Equal("≈", (await page.Locator($"td.cell[data-cell='{Flaky}'] a.history span.strip").TextContentAsync())?.Trim());
        ILocator rows = page.Locator("#flake-ledger tbody tr");
        Assert.Equal([Flaky], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.cell)"));
        IReadOnlyList<string> cells = await rows.First.Locator("td").AllInnerTextsAsync();
        Assert.Equal(["keystone", "stable/2024.1", Flaky, "1 of the last 1 run", "0"], cells.Take(5));
        Assert.Equal("100 % known flaky", cells[5]);
        Assert.Equal("deploy/apply: Error: Could not start Service[keystone] at <time>", cells[7]);

        // When the last-seen link is followed, the job page is the re-run's, and it says which job it re-ran
        await page.NavigateByAsync(() => rows.First.Locator("td").Nth(6).Locator("a").ClickAsync(), $"{BaseUrl}/jobs/{_rerun}");
        Assert.Contains("flaky", await page.Locator("#job-result").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains($"#{_failed}", await page.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
    }
}
