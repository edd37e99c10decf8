using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// The CI health figures after a real run with a passing and a failing cell on the real engine, reported to two
/// webhooks on a real local receiver (one accepted, one refused): <c>GET /api/health</c>, the
/// <c>cirunner_reports_total</c> counter on <c>/metrics</c>, and <c>/health</c> in Debian's headless chromium.
/// </summary>
[Trait("Category", "Docker")]
public sealed partial class CiHealthTests : IClassFixture<ObservedService>
{
    private readonly ObservedService _service;

    public CiHealthTests(ObservedService service) => _service = service;

    [Fact]
    public async Task ApiHealth_AfterAPassAndAFailure_HalfPassedNoErrorsDurationsPerScenarioAndTheReportsWithWhyOneFailed()
    {
        await WaitForReportsAsync();
        using var client = new HttpClient { BaseAddress = _service.BaseUrl };

        using JsonDocument answer = JsonDocument.Parse(await client.GetStringAsync(new Uri("api/health", UriKind.Relative)));
        JsonElement health = answer.RootElement;

        // The run's two jobs: one passed, one failed; neither broke the infrastructure
        Assert.Equal((2, 1, 1, 0), (Int(health, "jobs", "finished"), Int(health, "jobs", "passed"), Int(health, "jobs", "failed"), Int(health, "jobs", "error")));
        Assert.Equal(0.5, Value(health, "passRate"));
        Assert.Equal(0.0, Value(health, "infrastructureErrorRate"));
        JsonElement[] daily = [.. health.GetProperty("passRate").GetProperty("daily").EnumerateArray()];
        Assert.Equal(14, daily.Length);
        Assert.Equal(0.5, daily[^1].GetProperty("value").GetDouble());

        // Neither job was flaky
        Assert.Equal(0.0, health.GetProperty("flakyRate").GetProperty("value").GetDouble());

        // Each scenario ran once, so its p50 is its p95 and both are its job's duration
        Dictionary<string, JsonElement> durations = health.GetProperty("durationByScenario").EnumerateArray()
            .ToDictionary(d => d.GetProperty("scenario").GetString()!, StringComparer.Ordinal);
        Assert.Equal(["converges", "fails"], durations.Keys.Order(StringComparer.Ordinal));
        RunDetail run = (await _service.Services.GetRequiredService<RunStore>().GetDetailAsync(_service.Run.Run.Id, CancellationToken.None))!;
        foreach (JobRecord job in run.Jobs)
        {
            JsonElement scenario = durations[job.Scenario];
            Assert.Equal(1, scenario.GetProperty("jobs").GetInt32());
            Assert.Equal(job.Duration!.Value.TotalSeconds, Value(scenario, "p50Seconds"), 3);
            Assert.Equal(job.Duration!.Value.TotalSeconds, Value(scenario, "p95Seconds"), 3);
        }

        // The queue wait is the slower job's wait at p95
        double slowestWait = run.Jobs.Max(j => (j.StartedAt!.Value - j.QueuedAt).TotalSeconds);
        Assert.Equal(slowestWait, Value(health, "queueWaitP95Seconds"), 3);

        // The reports: one sent, one failed for good, with the receiver's refusal as the reason
        List<(string?, string?, double)> reports = health.GetProperty("reports").EnumerateArray()
            .Select(r => (r.GetProperty("reporter").GetString(), r.GetProperty("state").GetString(), r.GetProperty("count").GetProperty("value").GetDouble()))
            .ToList();
        Assert.Contains((_service.SentWebhook, "sent", 1.0), reports);
        Assert.Contains((_service.RefusedWebhook, "failed", 1.0), reports);
        JsonElement problem = Assert.Single(health.GetProperty("reportProblems").EnumerateArray());
        Assert.Equal((_service.RefusedWebhook, "failed", _service.Run.Run.Id), (problem.GetProperty("reporter").GetString(), problem.GetProperty("state").GetString(), problem.GetProperty("runId").GetInt64()));
        Assert.Contains("401", problem.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // The engine the jobs ran on answers and runs nothing now
        JsonElement engine = Assert.Single(health.GetProperty("engines").EnumerateArray());
        Assert.Equal((true, 0), (engine.GetProperty("up").GetBoolean(), engine.GetProperty("running").GetInt32()));
    }

    [Fact]
    public async Task Metrics_AfterTheReports_CountOneSentAndOneFailedByReporter()
    {
        await WaitForReportsAsync();
        using var client = new HttpClient { BaseAddress = _service.BaseUrl };

        string text = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));

        Assert.Equal(1, Counter(text, _service.SentWebhook, "sent"));
        Assert.Equal(1, Counter(text, _service.RefusedWebhook, "failed"));
        Assert.Null(Counter(text, _service.SentWebhook, "failed"));
    }

    [Theory]
    [InlineData(390, 800)]
    [InlineData(1280, 900)]
    public async Task HealthPage_InChromium_EveryFigureWithItsNumberAndTrend_NothingOverflowsThePage(int width, int height)
    {
        await WaitForReportsAsync();
        await using BrowserSession browser = await BrowserSession.StartAsync(width, height);
        IPage page = browser.Page;

        // Reached from the navigation of any page
        await page.GotoAsync(_service.BaseUrl.ToString());
        await page.NavigateByAsync(() => page.Locator("nav a", new PageLocatorOptions { HasText = "CI health" }).ClickAsync(), $"{_service.BaseUrl}health");

        // Every figure: its name, its number, and a drawn trend whose label reads the days' values
        ILocator rows = page.Locator("#figures tbody tr");
        Assert.Equal(6, await rows.CountAsync());
        Assert.Equal("50 %", (await page.Locator("#figure-pass-rate td.figure").InnerTextAsync()).Trim());
        Assert.Equal("0 %", (await page.Locator("#figure-infrastructure-error-rate td.figure").InnerTextAsync()).Trim());
        Assert.Equal("0 %", (await page.Locator("#figure-flaky-rate td.figure").InnerTextAsync()).Trim());
        for (int i = 0; i < 6; i++)
        {
            ILocator trend = rows.Nth(i).Locator("svg[role=img]");
            string name = (await rows.Nth(i).Locator("th").InnerTextAsync()).Split('\n')[0].Trim();
            Assert.StartsWith($"{name} per day", await trend.GetAttributeAsync("aria-label"), StringComparison.Ordinal);
            LocatorBoundingBoxResult box = (await trend.BoundingBoxAsync())!;
            Assert.True(box.Width > 80 && box.Height > 20, $"the {name} trend is drawn {box.Width}x{box.Height}");
        }

        string passRateTrend = (await page.Locator("#figure-pass-rate svg").GetAttributeAsync("aria-label"))!;
        Assert.EndsWith($"{TimeProvider.System.GetUtcNow():MM-dd} 50 %", passRateTrend, StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator("#figure-pass-rate svg circle").CountAsync());

        // Durations per scenario, the reports with the refused one's reason, the engine
        Assert.Equal(["converges", "fails"], await page.Locator("#durations tbody th").AllInnerTextsAsync());
        Assert.Equal(4, await page.Locator("#durations svg[role=img]").CountAsync());
        Assert.Contains("401", await page.Locator("#report-problems").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("up", await page.Locator("#engines tbody td").First.InnerTextAsync());

        // Nothing widens the page: wide tables scroll inside their own box
        int pageWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        string widest = await page.EvaluateAsync<string>(
            "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w && !e.parentElement.closest('.scroll')).slice(0, 5).map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')",
            width);
        Assert.True(pageWidth <= width, $"/health is {pageWidth} px wide in a {width} px viewport: {widest}");

        await browser.ScreenshotAsync($"health-{width}");
    }

    private static int Int(JsonElement element, string property, string field) => element.GetProperty(property).GetProperty(field).GetInt32();

    private static double Value(JsonElement element, string figure) => element.GetProperty(figure).GetProperty("value").GetDouble();

    /// <summary>The value of <c>cirunner_reports_total</c> for one reporter and state; null when the series is not there.</summary>
    private static long? Counter(string metrics, string reporter, string state) =>
        metrics.Split('\n')
            .Where(line => line.StartsWith("cirunner_reports_total{", StringComparison.Ordinal)
                && line.Contains($"reporter=\"{reporter}\"", StringComparison.Ordinal)
                && line.Contains($"state=\"{state}\"", StringComparison.Ordinal))
            .Select(line => (long?)long.Parse(SampleValue().Match(line).Groups[1].Value, CultureInfo.InvariantCulture))
            .SingleOrDefault();

    /// <summary>Both webhooks settled the run's report (they are delivered a moment after the run ends).</summary>
    private async Task WaitForReportsAsync()
    {
        ReportStore reports = _service.Services.GetRequiredService<ReportStore>();
        await Eventually.TrueAsync(
            "both webhook reports to settle",
            async () => (await reports.ListForRunAsync(_service.Run.Run.Id, CancellationToken.None))
                .Count(r => r.Reporter.StartsWith("webhook:", StringComparison.Ordinal) && r.State != ReportState.Pending) == 2,
            TimeSpan.FromSeconds(60));
    }

    [GeneratedRegex(@"\}\s+([0-9]+)(?:\s|$)")]
    private static partial Regex SampleValue();
}
