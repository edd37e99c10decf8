using System.Data.Common;
using System.Net;
using System.Text.Json;
using System.Xml.Linq;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using CiRunner.Web;
using CiRunner.Web.Pages;
using Dapper;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Web;

/// <summary>
/// A cell's history read from a real store, as <c>GET /api/cells/history</c> writes it (the API's own serializer
/// options) and as <c>/cells/history</c>, its charts and the matrix grid's strips render it (their own Razor
/// components), without a host: the HTTP round trip and the browser are <see cref="EndToEnd.CellHistoryPageTests"/>.
/// </summary>
public sealed class CellHistoryViewTests : IDisposable
{
    private const string Cell = "2024.1/scenario001";

    private readonly TempDatabase _temp = new();
    private readonly ResultsStore _store;
    private readonly ServiceProvider _services;
    private readonly ServiceProvider _renderServices = new ServiceCollection().AddLogging().BuildServiceProvider();
    private readonly List<long> _jobs = [];

    public CellHistoryViewTests()
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
    public async Task HistoryPage_PassThenTwoDriftingFailures_StripTableChartsSignaturesAndDriftRead()
    {
        await SeedAsync();

        string page = await RenderAsync<CellHistoryPage>(new Dictionary<string, object?>
        {
            ["History"] = await ReadAsync(),
            ["Now"] = _temp.Time.GetUtcNow(),
        });

        // The strip: one box per run, oldest left, each a link to its job whose label reads the run out
        XElement strip = Element(page, "<ol class=\"strip strip-large\"", "</ol>");
        Assert.Equal(_jobs.Select(id => $"/jobs/{id}"), strip.Descendants("a").Select(a => (string?)a.Attribute("href")));
        Assert.Equal(["result-success", "result-failure", "result-failure"], strip.Elements("li").Select(li => (string?)li.Attribute("class")));
        Assert.Equal($"job {_jobs[2]}: failed, commit cccc, 3 min 0 s, attempt 1", (string?)strip.Descendants("a").Last().Attribute("aria-label"));

        // The table, newest first, with the signature and the change count of each run
        XElement runs = Table(page, "runs");
        Assert.Equal(_jobs.AsEnumerable().Reverse().Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)), runs.Descendants("tr").Skip(1).Select(r => (string?)r.Attribute("data-job")));
        Assert.Contains("deploy/idempotency: 1 change", runs.Value, StringComparison.Ordinal);

        // Two charts, duration and changes; the failed runs are crosses, the pass a dot
        List<XElement> charts = [.. Elements(page, "<svg class=\"chart\"", "</svg>")];
        Assert.Equal(2, charts.Count);
        Assert.All(charts, chart => Assert.Equal((1, 2), (chart.Elements("circle").Count(), chart.Elements("path").Count(p => (string?)p.Attribute("class") == "chart-failed"))));
        Assert.StartsWith("Duration per run, oldest first: ", (string?)charts[0].Attribute("aria-label"), StringComparison.Ordinal);
        Assert.EndsWith($"job {_jobs[2]} failed 1", (string?)charts[1].Attribute("aria-label"), StringComparison.Ordinal);

        // The signatures with their counts, and the drift: still changing, first seen in the second run, in 2 of 3
        Assert.Contains("deploy/idempotency: 1 change2", Table(page, "signatures").Value, StringComparison.Ordinal);
        XElement motd = Table(page, "drift-table").Descendants("tr").Single(r => (string?)r.Attribute("data-resource") == "File[/etc/motd]");
        string[] cells = [.. motd.Elements("td").Select(td => td.Value)];
        Assert.Equal(("content", "deployIDEMPOTENCY 2", "2 of 3", "✗ still changes"), (cells[1], cells[2], cells[5], cells[6]));
        Assert.StartsWith($"job {_jobs[1]} · bbbb", cells[3], StringComparison.Ordinal);
        Assert.StartsWith($"job {_jobs[2]} · cccc", cells[4], StringComparison.Ordinal);
    }

    [Fact]
    public async Task HistoryPage_ARerunAfterAFailure_TheAttemptSaysRerunAndWhatCameBefore()
    {
        // Given a run whose first attempt failed and whose rerun on the same lockfile passed
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(commitSha: "ffff"), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
        JobCompletion first = (await _store.Jobs.MarkFinishedAsync(
            run.Jobs[0].Id, new JobEnd(JobResult.Error, "engine gone") { TransientCause = true, MaxAttempts = 2 }, CancellationToken.None))!;
        await using (DbConnection connection = await _temp.OpenRawAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE jobs SET result = 'failure' WHERE id = @First; UPDATE jobs SET rerun_of = @First WHERE id = @Second",
                new { First = run.Jobs[0].Id, Second = first.Retry!.Id });
        }

        await _store.Jobs.MarkStartedAsync(first.Retry.Id, null, null, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(first.Retry.Id, JobResult.Flaky, "passed on rerun", CancellationToken.None);

        string page = await RenderAsync<CellHistoryPage>(new Dictionary<string, object?> { ["History"] = await ReadAsync(), ["Now"] = _temp.Time.GetUtcNow() });

        // Then the strip shows the flaky mark, and the attempt column the rerun and the failure before it
        XElement strip = Element(page, "<ol class=\"strip strip-large\"", "</ol>");
        Assert.Equal(("result-flaky", "≈"), ((string?)strip.Element("li")!.Attribute("class"), strip.Element("li")!.Value));
        Assert.Equal("2, a rerun (before: 1 failed)", Table(page, "runs").Descendants("td").Single(td => (string?)td.Attribute("class") == "attempt").Value);
    }

    [Fact]
    public async Task ApiJson_History_CamelCaseWireNamesWithDriftAndAttempts()
    {
        await SeedAsync();
        JsonSerializerOptions api = _services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;

        JsonElement body = JsonSerializer.SerializeToElement(await ReadAsync(), api);

        Assert.Equal((Cell, 30), (body.GetProperty("cellKey").GetString(), body.GetProperty("limit").GetInt32()));
        JsonElement newest = body.GetProperty("runs")[0];
        Assert.Equal(("failure", "commit", 1, 1), (newest.GetProperty("result").GetString(), newest.GetProperty("cause").GetString(), newest.GetProperty("attempt").GetInt32(), newest.GetProperty("idempotencyChanges").GetInt32()));
        Assert.Equal(JsonValueKind.Array, newest.GetProperty("earlierAttempts").ValueKind);
        JsonElement drift = body.GetProperty("drift")[0];
        Assert.Equal(("File[/etc/motd]", "deploy", 2, true), (drift.GetProperty("resource").GetString(), drift.GetProperty("phase").GetString(), drift.GetProperty("runs").GetInt32(), drift.GetProperty("stillChanges").GetBoolean()));
        Assert.Equal(_jobs[1], drift.GetProperty("firstSeen").GetProperty("jobId").GetInt64());
        Assert.Equal(2, body.GetProperty("failureSignatures")[0].GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task CellGrid_CellsWithStrips_EachLinksToItsJobAndToItsHistoryWithTheStripReadOut()
    {
        await SeedAsync();
        using var folder = new ConfigFolder();
        ConfigurationLoadResult loaded = folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        CiRunnerSettings settings = loaded.Settings!;
        IReadOnlyList<MatrixGrid> grids = MatrixGrid.From(
            await _store.Cells.ListAllAsync(CancellationToken.None), settings, await _store.CellHistory.ListStripsAsync(MatrixGrid.StripLength, CancellationToken.None));

        string html = await RenderAsync<CellGrid>(new Dictionary<string, object?> { ["Grid"] = Assert.Single(grids), ["Now"] = _temp.Time.GetUtcNow() });

        XElement cell = Element(html, $"<td class=\"cell result-failure\" data-cell=\"{Cell}\"", "</td>");
        XElement[] links = [.. cell.Elements("a")];
        Assert.Equal(($"/jobs/{_jobs[2]}", "job"), ((string?)links[0].Attribute("href"), (string?)links[0].Attribute("class")));
        Assert.Equal("/cells/history?module=keystone&branch=stable%2F2024.1&cell=2024.1%2Fscenario001", (string?)links[1].Attribute("href"));
        Assert.Equal($"history of {Cell}; last 3 results, oldest first: passed, failed, failed", (string?)links[1].Attribute("aria-label"));
        XElement strip = links[1].Elements("span").Single(s => (string?)s.Attribute("class") == "strip");
        Assert.Equal(("true", "✓✗✗"), ((string?)strip.Attribute("aria-hidden"), strip.Value));
        Assert.Equal(["result-success", "result-failure", "result-failure"], strip.Elements("span").Select(s => (string?)s.Attribute("class")));
    }

    /// <summary>
    /// Three branch runs of the cell: a pass, then two failures whose deploy idempotency step changed File[/etc/motd]
    /// (the first also a config value), each failure with its signature.
    /// </summary>
    private async Task SeedAsync()
    {
        await RunAsync("aaaa", JobResult.Success, []);
        await RunAsync("bbbb", JobResult.Failure, [Motd, Samples.Change()]);
        await RunAsync("cccc", JobResult.Failure, [Motd]);
    }

    private static NewIdempotencyChange Motd => new("File", "/etc/motd", "content", "{md5}a", "{md5}b", "demo", "site.pp", 3);

    private async Task RunAsync(string commit, JobResult result, NewIdempotencyChange[] changes)
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(commitSha: commit), [Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(3));
        if (changes.Length > 0)
        {
            StepRecord step = await _store.JobProgress.AddStepAsync(
                jobId, Samples.Step(2, _temp.Time.GetUtcNow(), StepKind.Idempotency, exitCode: 2, JobResult.Failure), CancellationToken.None);
            await _store.JobProgress.AddIdempotencyChangesAsync(jobId, step.Id, changes, CancellationToken.None);
        }

        await _store.Jobs.MarkFinishedAsync(jobId, result, "done", CancellationToken.None);
        if (result != JobResult.Success)
        {
            await using DbConnection connection = await _temp.OpenRawAsync();
            await connection.ExecuteAsync("UPDATE jobs SET failure_signature = 'deploy/idempotency: 1 change' WHERE id = @JobId", new { JobId = jobId });
        }

        _jobs.Add(jobId);
        _temp.Time.Advance(TimeSpan.FromHours(1));
    }

    private Task<CellHistory> ReadAsync() => _store.CellHistory.ReadAsync("keystone", "stable/2024.1", Cell, CellHistoryStore.DefaultLimit, CancellationToken.None);

    private static XElement Table(string page, string id) => Element(page, $"<table id=\"{id}\"", "</table>");

    private static XElement Element(string page, string start, string end) => Elements(page, start, end).First();

    private static IEnumerable<XElement> Elements(string page, string start, string end)
    {
        int from = 0;
        bool any = false;
        while ((from = page.IndexOf(start, from, StringComparison.Ordinal)) >= 0)
        {
            any = true;
            int to = page.IndexOf(end, from, StringComparison.Ordinal) + end.Length;
            yield return XElement.Parse(page[from..to].Replace("<br>", "<br />", StringComparison.Ordinal).Replace("&", "&amp;", StringComparison.Ordinal));
            from = to;
        }

        Assert.True(any, $"nothing starts with {start}");
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
