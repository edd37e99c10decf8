using System.Net;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// A cell's history over HTTP from the real host: the matrix cell's history link, the page in Debian's headless
/// chromium (its strip leads to the jobs, its charts and drift table read), <c>GET /api/cells/history</c>, and the
/// one-line answers to a bad or unknown cell. The results are stored through the real stores; running them is
/// <see cref="IdempotencyDriftTests"/>' part.
/// </summary>
[Trait("Category", "Service")]
public sealed class CellHistoryPageTests : IAsyncLifetime, IDisposable
{
    private const string Cell = "2024.1/basic";

    private readonly ConfigFolder _folder = new();
    private readonly int _port = FreePort.Next();
    private readonly List<long> _jobs = [];
    private WebApplication? _app;

    private string BaseUrl => $"http://127.0.0.1:{_port}";

    public async Task InitializeAsync()
    {
        _folder.Set("Http:Listen", BaseUrl);
        _folder.Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());

        // The cell turns red after a pass: no bisect of a module this folder has no mirror of
        _folder.Set("Bisect:Enabled", false);
        _folder.Save();
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        _app = await InProcessHost.StartAsync(loaded.Settings);

        // Four runs of the cell, stored after the start and its recovery, so the dispatcher never sees their jobs: a pass, then
        // three failures whose idempotency step kept changing File[/etc/motd]
        RunStore runs = _app.Services.GetRequiredService<RunStore>();
        JobStore jobs = _app.Services.GetRequiredService<JobStore>();
        JobProgressStore progress = _app.Services.GetRequiredService<JobProgressStore>();
        for (int i = 0; i < 4; i++)
        {
            RunDetail run = await runs.CreateAsync(
                new NewRun(RunCause.Commit, "keystone", "stable/2024.1", new string((char)('a' + i), 40)),
                [new NewJob(Cell, JobKind.Deploy, "2024.1", null, "basic")],
                CancellationToken.None);
            long job = run.Jobs[0].Id;
            await jobs.MarkStartedAsync(job, null, null, CancellationToken.None);
            StepRecord step = await progress.AddStepAsync(
                job, new NewStep(1, "deploy", "idempotency", StepKind.Idempotency, TempDatabase.Start, TempDatabase.Start.AddSeconds(20 + i), i == 0 ? 0 : 2, i == 0 ? JobResult.Success : JobResult.Failure),
                CancellationToken.None);
            if (i > 0)
            {
                await progress.AddIdempotencyChangesAsync(job, step.Id, [new NewIdempotencyChange("File", "/etc/motd", "content", "{md5}a", "{md5}b", null, "site.pp", 1)], CancellationToken.None);
            }

            await jobs.MarkFinishedAsync(job, i == 0 ? JobResult.Success : JobResult.Failure, "done", CancellationToken.None);
            _jobs.Add(job);
        }
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task History_InChromium_FromTheMatrixCellToItsHistory_TheStripLeadsToEachJob_DriftAndChartsRead()
    {
        await using BrowserSession browser = await BrowserSession.StartAsync(1280, 900);
        IPage page = browser.Page;

        // Given the matrix, whose cell shows its four results oldest first
        await page.GotoAsync(BaseUrl + "/");
        ILocator history = page.Locator($"td.cell[data-cell='{Cell}'] a.history");
        Assert.Equal("✓✗✗✗", await history.Locator("span.strip").TextContentAsync());
        Assert.Equal($"history of {Cell}; last 4 results, oldest first: passed, failed, failed, failed", await history.GetAttributeAsync("aria-label"));

        // When its history link is followed
        await browser.ScreenshotAsync("matrix-strips-1280");
        await page.NavigateByAsync(() => history.ClickAsync(), BaseUrl + CellHistoryEndpoints.PageLink("keystone", "stable/2024.1", Cell));

        // Then the page names the cell, its strip holds the four runs oldest first and the charts are drawn
        Assert.Equal($"Cell {Cell}", await page.Locator("h1").InnerTextAsync());
        Assert.Equal(["✓", "✗", "✗", "✗"], await page.Locator("#strip li").AllInnerTextsAsync());
        Assert.Equal(2, await page.Locator("svg.chart").CountAsync());
        Assert.Equal(3, await page.Locator("svg.chart").First.Locator("path.chart-failed").CountAsync());
        Assert.Equal("rgb(207, 34, 46)", await page.Locator("svg.chart path.chart-failed").First.EvaluateAsync<string>("e => getComputedStyle(e).stroke"));

        // And the drift table says File[/etc/motd] still changes, first seen in the second run, in 3 of 4
        ILocator motd = page.Locator("#drift-table tr[data-resource='File[/etc/motd]'] td");
        Assert.Equal("3 of 4", await motd.Nth(5).InnerTextAsync());
        Assert.Contains("still changes", await motd.Nth(6).InnerTextAsync(), StringComparison.Ordinal);
        Assert.StartsWith($"job {_jobs[1]} · ", await motd.Nth(3).InnerTextAsync(), StringComparison.Ordinal);

        await browser.ScreenshotAsync("cell-history-1280");

        // And a box of the strip leads to its job
        await page.NavigateByAsync(() => page.Locator("#strip li a").Nth(1).ClickAsync(), $"{BaseUrl}/jobs/{_jobs[1]}");
        Assert.Contains("failed", await page.Locator("#job-result").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HistoryApi_KnownUnknownAndBadCells_JsonOr404Or400WithOneLineNamingTheFix()
    {
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl) };

        // The cell's history as JSON, with wire names
        using HttpResponseMessage found = await http.GetAsync(CellHistoryEndpoints.ApiLink("keystone", "stable/2024.1", Cell) + "&limit=2");
        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        using JsonDocument body = JsonDocument.Parse(await found.Content.ReadAsStringAsync());
        Assert.Equal([_jobs[3], _jobs[2]], body.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("jobId").GetInt64()));
        Assert.Equal("failure", body.RootElement.GetProperty("runs")[0].GetProperty("result").GetString());
        Assert.Equal(2, body.RootElement.GetProperty("drift")[0].GetProperty("runs").GetInt32());

        // A cell that never ran: 404, the page too, saying so
        using HttpResponseMessage unknown = await http.GetAsync(CellHistoryEndpoints.ApiLink("keystone", "stable/2024.1", "2024.1/nope"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("Cell '2024.1/nope' of keystone stable/2024.1 has no result yet", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using HttpResponseMessage unknownPage = await http.GetAsync(CellHistoryEndpoints.PageLink("keystone", "stable/2024.1", "2024.1/nope"));
        Assert.Equal(HttpStatusCode.NotFound, unknownPage.StatusCode);
        Assert.Contains("id=\"no-results\"", await unknownPage.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // No cell, or a limit out of range: 400 with one line naming the fix
        using HttpResponseMessage noCell = await http.GetAsync("/cells/history?module=keystone&branch=stable/2024.1");
        Assert.Equal(HttpStatusCode.BadRequest, noCell.StatusCode);
        string line = await noCell.Content.ReadAsStringAsync();
        Assert.StartsWith("A cell's history needs module, branch and cell: ?module=", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        using HttpResponseMessage badLimit = await http.GetAsync(CellHistoryEndpoints.ApiLink("keystone", "stable/2024.1", Cell) + "&limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Contains("limit '0' is not a number of results from 1 to 200", await badLimit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
