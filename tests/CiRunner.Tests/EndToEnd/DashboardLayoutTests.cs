using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// The matrix grid with upgrade and rollback cells, in Debian's headless chromium: where the cells sit, that each
/// leads to its job, that the keyboard reaches every cell with a visible outline, and that the page fits a phone
/// and a laptop screen. The results are stored through the real stores; running them is the pipeline tests' part.
/// </summary>
[Trait("Category", "Service")]
public sealed class DashboardLayoutTests : IAsyncLifetime, IDisposable
{
    // A commit on stable/2024.1: deploy cells on 2024.1, upgrade cells from 2023.1 (adjacent and SLURP), one rollback.
    private static readonly (string Key, JobKind Kind, string Release, string? From, string Scenario, JobResult Result)[] Cells =
    [
        ("2024.1/basic", JobKind.Deploy, "2024.1", null, "basic", JobResult.Success),
        ("2024.1/lib-only", JobKind.Deploy, "2024.1", null, "lib-only", JobResult.Failure),
        ("2023.1->2024.1/basic:upgrade", JobKind.Upgrade, "2024.1", "2023.1", "basic", JobResult.Failure),
        ("2023.1->2024.1/basic:rollback", JobKind.Rollback, "2024.1", "2023.1", "basic", JobResult.Success),
        ("2023.1->2024.1/lib-only:upgrade", JobKind.Upgrade, "2024.1", "2023.1", "lib-only", JobResult.Timeout),
    ];

    private readonly ConfigFolder _folder = new();
    private readonly int _port = FreePort.Next();
    private WebApplication? _app;
    private RunDetail _run = null!;

    private string BaseUrl => $"http://127.0.0.1:{_port}";

    public async Task InitializeAsync()
    {
        _folder.Set("Http:Listen", BaseUrl);
        _folder.Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());
        _folder.Save();
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        _app = await InProcessHost.StartAsync(loaded.Settings);

        // The run is stored after the start and its recovery, so the dispatcher never sees its jobs.
        RunStore runs = _app.Services.GetRequiredService<RunStore>();
        JobStore jobs = _app.Services.GetRequiredService<JobStore>();
        JobProgressStore progress = _app.Services.GetRequiredService<JobProgressStore>();
        _run = await runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "stable/2024.1", new string('a', 40)),
            Cells.Select(c => new NewJob(c.Key, c.Kind, c.Release, c.From, c.Scenario)).ToList(),
            CancellationToken.None);
        foreach (JobRecord job in _run.Jobs)
        {
            (string Key, JobKind Kind, string Release, string? From, string Scenario, JobResult Result) cell = Cells.Single(c => c.Key == job.CellKey);
            string log = _folder.Write($"data/logs/{job.Id}.log", $"== job {job.Id}\nerr Error: {job.CellKey} went {cell.Result}\n");
            await jobs.MarkStartedAsync(job.Id, "sha256:" + new string('b', 64), log, CancellationToken.None);
            await progress.RecordModulesAsync(job.Id, cell.From is null
                ? [new JobModuleRecord("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.1", new string('a', 40))]
                :
                [
                    new JobModuleRecord("keystone", "https://opendev.org/openstack/puppet-keystone", "unmaintained/2023.1", new string('c', 40), "deploy"),
                    new JobModuleRecord("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.1", new string('a', 40), "upgrade"),
                ], CancellationToken.None);
            string phase = cell.Kind == JobKind.Deploy ? "deploy" : "upgrade";
            await progress.AddStepAsync(job.Id, new NewStep(0, "deploy", "apply", StepKind.Apply, TempDatabase.Start, TempDatabase.Start.AddSeconds(3), 2, JobResult.Success), CancellationToken.None);
            await progress.AddStepAsync(job.Id, new NewStep(1, phase, "idempotency", StepKind.Idempotency, TempDatabase.Start, TempDatabase.Start.AddSeconds(2), 0, cell.Result), CancellationToken.None);
            await jobs.MarkFinishedAsync(job.Id, cell.Result, $"{cell.Result.ToString().ToLowerInvariant()}: step 'idempotency' (idempotency, phase {phase})", CancellationToken.None);
        }
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Matrix_InChromium_UpgradeAndRollbackCellsSitUnderFromToColumnsAndLeadToTheirJobs()
    {
        await using BrowserSession browser = await BrowserSession.StartAsync(1280, 900);
        IPage page = browser.Page;
        await page.GotoAsync(BaseUrl + "/");

        // Columns: the release, then each upgrade path, then its rollback; scenarios are the rows
        Assert.Equal(
            ["scenario", "2024.1", "2023.1->2024.1", "2023.1->2024.1 rollback"],
            await page.Locator("table.matrix thead th").AllInnerTextsAsync());
        Assert.Equal(["basic", "lib-only"], await page.Locator("table.matrix tbody th[scope=row]").AllInnerTextsAsync());
        foreach ((string key, _, _, _, string scenario, JobResult result) in Cells)
        {
            ILocator cell = page.Locator($"td.cell[data-cell='{key}']");
            int column = key.StartsWith("2024.1/", StringComparison.Ordinal) ? 1 : key.EndsWith(":upgrade", StringComparison.Ordinal) ? 2 : 3;
            int row = scenario == "basic" ? 0 : 1;
            Assert.Equal(key, await page.Locator("table.matrix tbody tr").Nth(row).Locator("td").Nth(column - 1).GetAttributeAsync("data-cell"));
            Assert.Contains(Word(result), await cell.InnerTextAsync(), StringComparison.Ordinal);
        }

        // The upgrade cell leads to its job: phases in the steps, the summary naming the phase, and the log
        long upgradeJob = _run.Jobs.Single(j => j.CellKey == "2023.1->2024.1/basic:upgrade").Id;
        await page.NavigateByAsync(() => page.Locator("td.cell[data-cell='2023.1->2024.1/basic:upgrade'] a.job").ClickAsync(), $"{BaseUrl}/jobs/{upgradeJob}");
        Assert.Contains("phase upgrade", await page.Locator("#job-result").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("2023.1->2024.1/basic:upgrade (upgrade", await page.Locator("dl").First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(["deploy", "upgrade"], await page.Locator("h2:text('Steps') + div tbody tr td:nth-child(2)").AllInnerTextsAsync());
        Assert.Equal(["deploy", "upgrade"], await page.Locator("h2:text('Module commits') + div tbody tr td:nth-child(1)").AllInnerTextsAsync());
        Assert.Contains("went Failure", await page.Locator("#log").InnerTextAsync(), StringComparison.Ordinal);
        await browser.ScreenshotAsync("job-upgrade-1280");
    }

    [Fact]
    public async Task Matrix_Keyboard_TabReachesEveryCellsJobAndHistoryLinksInOrderWithAVisibleOutline()
    {
        await using BrowserSession browser = await BrowserSession.StartAsync(1280, 900);
        IPage page = browser.Page;
        await page.GotoAsync(BaseUrl + "/");
        int cellLinks = await page.Locator("td.cell a").CountAsync();
        Assert.Equal(Cells.Length * 2, cellLinks);

        // When Tab is pressed through the page
        var reached = new List<(string? Cell, string Outline)>();
        for (int presses = 0; presses < 60 && reached.Count(r => r.Cell is not null) < cellLinks; presses++)
        {
            await page.Keyboard.PressAsync("Tab");
            string focused = await page.EvaluateAsync<string>("""
                () => {
                  const e = document.activeElement;
                  const cell = e && e.closest('td.cell') ? e.closest('td.cell').dataset.cell : '';
                  const s = getComputedStyle(e);
                  return cell + '|' + s.outlineStyle + ' ' + s.outlineWidth;
                }
                """);
            string[] parts = focused.Split('|');
            reached.Add((parts[0].Length == 0 ? null : parts[0], parts[1]));
        }

        // Then every cell's two links (its job, its history) were focused, row by row, each with the 3 px focus outline
        List<(string? Cell, string Outline)> cells = reached.Where(r => r.Cell is not null).ToList();
        Assert.Equal(
            ((string[])["2024.1/basic", "2023.1->2024.1/basic:upgrade", "2023.1->2024.1/basic:rollback", "2024.1/lib-only", "2023.1->2024.1/lib-only:upgrade"])
                .SelectMany(cell => new[] { cell, cell }),
            cells.Select(c => c.Cell));
        Assert.All(cells, c => Assert.Equal("solid 3px", c.Outline));
        await page.Keyboard.PressAsync("Shift+Tab");
        await browser.ScreenshotAsync("matrix-focus-1280");
    }

    [Theory]
    [InlineData(375, 740)]
    [InlineData(1280, 900)]
    public async Task Matrix_AtPhoneAndLaptopWidths_ThePageNeverScrollsSideways_TheGridFitsOrScrollsInItsBox(int width, int height)
    {
        await using BrowserSession browser = await BrowserSession.StartAsync(width, height);
        IPage page = browser.Page;

        string history = CiRunner.Web.CellHistoryEndpoints.PageLink("keystone", "stable/2024.1", "2023.1->2024.1/basic:upgrade");
        foreach (string path in new[] { "/", "/runs", $"/runs/{_run.Run.Id}", $"/jobs/{_run.Jobs[2].Id}", "/queue", "/modules", "/health", history })
        {
            await page.GotoAsync(BaseUrl + path);
            int pageWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
            string widest = await page.EvaluateAsync<string>(
                "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w && !e.parentElement.closest('.scroll')).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')",
                width);
            Assert.True(pageWidth <= width, $"{path} is {pageWidth} px wide in a {width} px viewport: {widest}");
        }

        await page.GotoAsync(BaseUrl + "/");
        int[] box = await page.EvaluateAsync<int[]>(
            "() => { const box = document.querySelector('table.matrix').closest('.scroll'); return [box.scrollWidth, box.clientWidth]; }");
        (int ScrollWidth, int ClientWidth) grid = (box[0], box[1]);
        if (width >= 1280)
        {
            Assert.True(grid.ScrollWidth <= grid.ClientWidth, $"the grid needs {grid.ScrollWidth} px of {grid.ClientWidth} at {width} px");
        }
        else
        {
            // Wider than a phone: it scrolls inside its own box, which the page does not
            Assert.True(grid.ScrollWidth > grid.ClientWidth, $"the grid ({grid.ScrollWidth} px) was expected to scroll in its {grid.ClientWidth} px box");
        }

        await browser.ScreenshotAsync($"matrix-{width}");
    }

    private static string Word(JobResult result) => CiRunner.Web.Pages.PageText.Describe(result).Word;
}
