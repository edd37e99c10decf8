using System.Net;
using System.Text.Json;
using System.Xml.Linq;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using CiRunner.Web;
using CiRunner.Web.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Web;

/// <summary>
/// The CI health figures read from a real store, as <c>GET /api/health</c> writes them (the API's own serializer
/// options) and as <c>/health</c> and its sparklines render them (their own Razor components), without a host: the
/// HTTP round trip after real jobs is <see cref="EndToEnd.CiHealthTests"/>.
/// </summary>
public sealed class CiHealthViewTests : IDisposable
{
    private readonly TempDatabase _temp = new();
    private readonly ResultsStore _store;
    private readonly ServiceProvider _services;
    private readonly ServiceProvider _renderServices = new ServiceCollection().AddLogging().BuildServiceProvider();

    public CiHealthViewTests()
    {
        _store = _temp.CreateStore();
        var services = new ServiceCollection();
        services.AddWeb();
        _services = services.BuildServiceProvider();
    }

    public void Dispose()
    {
        _services.Dispose();
        _renderServices.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task ApiJson_OnePassOneFailure_CamelCaseFiguresWithFourteenDailyPointsAndFlakyRateZero()
    {
        await SeedAsync();
        JsonSerializerOptions api = _services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;

        JsonElement body = JsonSerializer.SerializeToElement(
            CiHealthBody.Of(await _store.Health.ReadAsync(CiHealthStore.DefaultDays, CancellationToken.None), [new InstanceEngine("unix:///var/run/docker.sock", 2)]),
            api);

        Assert.Equal(0.5, body.GetProperty("passRate").GetProperty("value").GetDouble());
        JsonElement[] daily = [.. body.GetProperty("passRate").GetProperty("daily").EnumerateArray()];
        Assert.Equal(14, daily.Length);
        Assert.Equal(DateOnly.FromDateTime(TempDatabase.Start.UtcDateTime).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), daily[^1].GetProperty("day").GetString());
        Assert.Equal(0.5, daily[^1].GetProperty("value").GetDouble());
        Assert.Equal(JsonValueKind.Null, daily[0].GetProperty("value").ValueKind);
        Assert.Equal(0.0, body.GetProperty("flakyRate").GetProperty("value").GetDouble());
        Assert.Equal(0.0, body.GetProperty("infrastructureErrorRate").GetProperty("value").GetDouble());
        Assert.Equal(2, body.GetProperty("jobs").GetProperty("finished").GetInt32());
        Assert.Equal(["basic", "lib-only"], body.GetProperty("durationByScenario").EnumerateArray().Select(s => s.GetProperty("scenario").GetString()));
        Assert.Equal(30.0, body.GetProperty("queueWaitP95Seconds").GetProperty("value").GetDouble());
        Assert.Equal("default", Assert.Single(body.GetProperty("engines").EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task HealthPage_EveryFigureHasItsNumberAndATrend()
    {
        await SeedAsync();

        string page = await RenderAsync<HealthPage>(new Dictionary<string, object?>
        {
            ["Health"] = await _store.Health.ReadAsync(CiHealthStore.DefaultDays, CancellationToken.None),
            ["Engines"] = new[] { new InstanceEngine("unix:///var/run/docker.sock", 2) { Name = "local", Running = 1 } },
            ["Now"] = _temp.Time.GetUtcNow(),
        });

        XElement figures = Table(page, "figures");
        Assert.Equal(
            ["pass rate", "flaky rate", "infrastructure-error rate", "queue wait p50", "queue wait p95", "polls failing"],
            figures.Descendants("tbody").Single().Elements("tr").Select(r => r.Element("th")!.Nodes().OfType<XText>().First().Value));
        Assert.Equal(6, figures.Descendants("svg").Count());
        Assert.Contains(">50 %<", page, StringComparison.Ordinal);
        Assert.Contains("0 %", Row(figures, "figure-flaky-rate"), StringComparison.Ordinal);
        Assert.Equal(4, Table(page, "durations").Descendants("svg").Count());
        Assert.Contains("1 of 2", Table(page, "engines").Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sparkline_DaysWithAndWithoutValues_ALineJoinsConsecutiveDaysAGapDoesNotAndTheLabelReadsEveryDay()
    {
        var day = new DateOnly(2025, 4, 1);
        HealthPoint[] points = [new(day, null), new(day.AddDays(1), 0.5), new(day.AddDays(2), 1.0), new(day.AddDays(3), null), new(day.AddDays(4), 0.25)];

        string html = await RenderAsync<Sparkline>(new Dictionary<string, object?>
        {
            ["Points"] = points,
            ["Label"] = "pass rate",
            ["Format"] = (Func<double, string>)PageText.Percent,
            ["Max"] = 1.0,
        });

        XElement svg = XElement.Parse(html);
        Assert.Equal(("img", "140", "32"), ((string?)svg.Attribute("role"), (string?)svg.Attribute("width"), (string?)svg.Attribute("height")));
        string label = "pass rate per day, 2025-04-01 to 2025-04-05: 04-01 none, 04-02 50 %, 04-03 100 %, 04-04 none, 04-05 25 %";
        Assert.Equal(label, (string?)svg.Attribute("aria-label"));
        Assert.Equal(label, svg.Element("title")!.Value);

        // The two days in a row are one line; the lone day after the gap is a dot only
        XElement line = Assert.Single(svg.Elements("polyline"));
        Assert.Equal(2, ((string)line.Attribute("points")!).Split(' ').Length);
        Assert.Equal(3, svg.Elements("circle").Count());

        // Higher values sit higher: 100 % on the top pad, 25 % below 50 %
        double[] heights = [.. svg.Elements("circle").Select(c => (double)c.Attribute("cy")!)];
        Assert.Equal(3.0, heights[1]);
        Assert.True(heights[2] > heights[0] && heights[0] > heights[1], string.Join(", ", heights));
    }

    private static XElement Table(string page, string id)
    {
        int start = page.IndexOf($"<table id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no table #{id}");
        int end = page.IndexOf("</table>", start, StringComparison.Ordinal) + "</table>".Length;
        return XElement.Parse(page[start..end].Replace("<br>", "<br />", StringComparison.Ordinal));
    }

    private static string Row(XElement table, string id) =>
        table.Descendants("tr").Single(r => (string?)r.Attribute("id") == id).Value;

    /// <summary>A run with a basic job that passes and a lib-only job that fails, each after waiting in the queue.</summary>
    private async Task SeedAsync()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(scenario: "basic"), Samples.Deploy(scenario: "lib-only")], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(10));
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(20));
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(60));
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Failure, null, CancellationToken.None);
    }

    /// <summary>The component as its endpoint would send it, with entities decoded so expectations read as text.</summary>
    private async Task<string> RenderAsync<TComponent>(Dictionary<string, object?> parameters)
        where TComponent : IComponent
    {
        await using var renderer = new HtmlRenderer(_renderServices, _renderServices.GetRequiredService<ILoggerFactory>());
        string html = await renderer.Dispatcher.InvokeAsync(async () =>
            (await renderer.RenderComponentAsync<TComponent>(ParameterView.FromDictionary(parameters))).ToHtmlString());
        return WebUtility.HtmlDecode(html);
    }
}
