using System.Net;
using System.Text.Json;
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
/// Each instance's engine pool and the engine a job ran on, read back from the store, as the JSON API writes them (with
/// the API's own serializer options) and as the queue and job pages render them (their own Razor components), without
/// a host: the HTTP round trip is <see cref="EnginePoolSurfacesTests"/>.
/// </summary>
public sealed class EnginePoolViewTests : IDisposable
{
    private static readonly DateTimeOffset Now = TempDatabase.Start.AddMinutes(1);
    private readonly TempDatabase _temp = new();
    private readonly ResultsStore _store;
    private readonly ServiceProvider _services;

    // The renderer alone: AddWeb's Razor services want the whole web host, and the text is decoded before it is compared.
    private readonly ServiceProvider _renderServices = new ServiceCollection().AddLogging().BuildServiceProvider();

    public EnginePoolViewTests()
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
    public async Task ApiJson_InstanceAndJobs_CarryEachEngineOfThePoolAndTheJobsEngine()
    {
        RunDetail run = await SeedAsync();
        JsonSerializerOptions api = _services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;

        // When /api/instances, /api/jobs/{id} and /api/runs/{id} write what the store reads
        JsonElement instances = JsonSerializer.SerializeToElement(await _store.Instances.ListAsync(CancellationToken.None), api);
        JsonElement job = JsonSerializer.SerializeToElement(await _store.Jobs.GetDetailAsync(run.Jobs[0].Id, CancellationToken.None), api).GetProperty("job");
        RunDetail? stored = await _store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None);
        JsonElement runJobs = JsonSerializer.SerializeToElement(new RunDetailBody(stored!.Run, stored.Jobs, []), api).GetProperty("jobs");

        // Then the instance lists its engines in pool order, each with its own fields, and each job names its engine
        JsonElement[] engines = [.. Assert.Single(instances.EnumerateArray()).GetProperty("engines").EnumerateArray()];
        Assert.Equal(["local", "gpu-1"], engines.Select(e => e.GetProperty("name").GetString()));
        Assert.All(engines, e => Assert.Equal(
            ["capacity", "endpoint", "errors", "lastError", "lastErrorAt", "name", "running", "up"],
            e.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)));
        JsonElement down = engines[1];
        Assert.Equal(
            ("tcp://gpu-1:2376", 4, 0, false, "connection refused", "2025-04-01T01:59:30+00:00", 2L),
            (down.GetProperty("endpoint").GetString(), down.GetProperty("capacity").GetInt32(), down.GetProperty("running").GetInt32(), down.GetProperty("up").GetBoolean(),
             down.GetProperty("lastError").GetString(), down.GetProperty("lastErrorAt").GetString(), down.GetProperty("errors").GetInt64()));
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null, true), (engines[0].GetProperty("lastError").ValueKind, engines[0].GetProperty("lastErrorAt").ValueKind, engines[0].GetProperty("up").GetBoolean()));
        Assert.Equal(("ci-east", "local"), (job.GetProperty("instanceId").GetString(), job.GetProperty("engine").GetString()));
        Assert.Equal(["local", null], runJobs.EnumerateArray().Select(j => j.GetProperty("engine").GetString()));
    }

    [Fact]
    public async Task QueuePage_InstanceWithAPool_OneRowPerEngineUnderIt()
    {
        await SeedAsync();

        string page = await RenderAsync<QueuePage>(new Dictionary<string, object?>
        {
            [nameof(QueuePage.Running)] = await _store.Jobs.ListByStateAsync(JobState.Running, CancellationToken.None),
            [nameof(QueuePage.Entries)] = (IReadOnlyList<QueueEntryBody>)[],
            [nameof(QueuePage.Instances)] = await _store.Instances.ListAsync(CancellationToken.None),
            [nameof(QueuePage.Now)] = Now,
        });

        // Name, nothing for the instance's own columns, up or down, endpoint, last error with its age and the count, running of capacity
        Assert.Contains(
            """</tr><tr class="engine"><td>local</td><td colspan="4"></td><td>up</td><td>unix:///var/run/docker.sock</td><td>(0 errors)</td><td>1 of 2</td></tr>""",
            page,
            StringComparison.Ordinal);
        Assert.Contains(
            """<tr class="engine"><td>gpu-1</td><td colspan="4"></td><td>down</td><td>tcp://gpu-1:2376</td><td><time datetime="2025-04-01T01:59:30.0000000Z" title="2025-04-01 01:59:30Z">1 min ago</time>: connection refused (2 errors)</td><td>0 of 4</td></tr>""",
            page,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobPage_EngineKnown_ShownNextToTheInstance_OtherwiseNeither()
    {
        RunDetail run = await SeedAsync();

        string withEngine = await RenderJobPageAsync(run.Jobs[0].Id);
        string without = await RenderJobPageAsync(run.Jobs[1].Id);

        Assert.Contains("""<dt>instance</dt><dd>ci-east</dd><dt>engine</dt><dd id="job-engine">local</dd><dt>queued</dt>""", withEngine, StringComparison.Ordinal);
        Assert.DoesNotContain("<dt>instance</dt>", without, StringComparison.Ordinal);
        Assert.DoesNotContain("<dt>engine</dt>", without, StringComparison.Ordinal);
    }

    /// <summary>
    /// An instance checked in with a pool of two (one down since 30 s before the start), a run whose first job started
    /// on its engine "local" and whose second job was only queued.
    /// </summary>
    private async Task<RunDetail> SeedAsync()
    {
        await _store.Instances.CheckInAsync(
            "ci-east",
            "ci1",
            4242,
            TempDatabase.Start,
            [
                new("unix:///var/run/docker.sock", 2) { Name = "local", Running = 1 },
                new("tcp://gpu-1:2376", 4) { Name = "gpu-1", Up = false, LastError = "connection refused", LastErrorAt = TempDatabase.Start.AddSeconds(-30), Errors = 2 },
            ],
            CancellationToken.None);
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        Assert.True(await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, "sha256:abc", null, "ci-east", "local", CancellationToken.None));
        return run;
    }

    private async Task<string> RenderJobPageAsync(long jobId) =>
        await RenderAsync<JobPage>(new Dictionary<string, object?>
        {
            [nameof(JobPage.Detail)] = await _store.Jobs.GetDetailAsync(jobId, CancellationToken.None),
            [nameof(JobPage.RefreshSeconds)] = 5,
            [nameof(JobPage.Now)] = Now,
        });

    /// <summary>The page as its endpoint would send it, with entities decoded so expectations read as text.</summary>
    private async Task<string> RenderAsync<TPage>(Dictionary<string, object?> parameters)
        where TPage : IComponent
    {
        await using var renderer = new HtmlRenderer(_renderServices, _renderServices.GetRequiredService<ILoggerFactory>());
        string html = await renderer.Dispatcher.InvokeAsync(async () =>
            (await renderer.RenderComponentAsync<TPage>(ParameterView.FromDictionary(parameters))).ToHtmlString());
        return WebUtility.HtmlDecode(html);
    }
}
