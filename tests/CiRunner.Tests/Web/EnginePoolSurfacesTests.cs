using System.Net;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Web;

/// <summary>
/// Over HTTP on the real host: <c>GET /api/instances</c> lists each instance's pool, <c>GET /api/jobs/{id}</c> names the
/// engine a job ran on, and the queue and job pages show the same (the rendering itself is <see cref="EnginePoolViewTests"/>).
/// </summary>
[Trait("Category", "Service")]
public sealed class EnginePoolSurfacesTests : IAsyncLifetime, IDisposable
{
    private const string OtherInstance = "ci-pool-test";
    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly int _port = FreePort.Next();
    private WebApplication? _app;
    private long _jobId;

    public async Task InitializeAsync()
    {
        CiRunnerSettings settings = _folder.LoadLocalSite(_remote, _port);

        // Given another instance of the store that checked in with a pool of two, and a finished job that ran on one of them
        var store = new ResultsStore(new ResultsDatabase(settings.DataPaths.DatabaseFile, TimeProvider.System), TimeProvider.System);
        await store.Instances.CheckInAsync(
            OtherInstance,
            "pool-host",
            4242,
            TimeProvider.System.GetUtcNow(),
            [
                new("tcp://engine-a:2376", 2) { Name = "engine-a", Running = 1 },
                new("tcp://engine-b:2376", 3) { Name = "engine-b", Up = false, LastError = "connection refused", LastErrorAt = TimeProvider.System.GetUtcNow(), Errors = 4 },
            ],
            CancellationToken.None);
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "master", new string('a', 40)), [new NewJob("2024.2/basic", JobKind.Deploy, "2024.2", null, "basic")], CancellationToken.None);
        _jobId = run.Jobs[0].Id;
        Assert.True(await store.Jobs.MarkStartedAsync(_jobId, "sha256:image", null, OtherInstance, "engine-b", CancellationToken.None));
        await store.Jobs.MarkFinishedAsync(_jobId, JobResult.Success, "passed", CancellationToken.None);

        _app = await InProcessHost.StartAsync(settings);
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose()
    {
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task InstancesJobAndPages_ShowThePoolAndTheJobsEngine()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        // When the instances, the job and both pages are read
        using JsonDocument instances = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/instances", UriKind.Relative)));
        using JsonDocument job = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_jobId}", UriKind.Relative)));
        string queue = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri("/queue", UriKind.Relative)));
        string jobPage = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri($"/jobs/{_jobId}", UriKind.Relative)));

        // Then the other instance lists its engines in pool order, and the job and its page name the engine it ran on
        JsonElement other = instances.RootElement.EnumerateArray().Single(i => i.GetProperty("id").GetString() == OtherInstance);
        JsonElement[] engines = [.. other.GetProperty("engines").EnumerateArray()];
        Assert.Equal(["engine-a", "engine-b"], engines.Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(
            ("tcp://engine-b:2376", 3, 0, false, "connection refused", 4L),
            (engines[1].GetProperty("endpoint").GetString(), engines[1].GetProperty("capacity").GetInt32(), engines[1].GetProperty("running").GetInt32(),
             engines[1].GetProperty("up").GetBoolean(), engines[1].GetProperty("lastError").GetString(), engines[1].GetProperty("errors").GetInt64()));
        Assert.Equal(("ci-pool-test", "engine-b"), (job.RootElement.GetProperty("job").GetProperty("instanceId").GetString(), job.RootElement.GetProperty("job").GetProperty("engine").GetString()));
        Assert.Contains("""<tr class="engine"><td>engine-a</td><td colspan="4"></td><td>up</td><td>tcp://engine-a:2376</td><td>(0 errors)</td><td>1 of 2</td></tr>""", queue, StringComparison.Ordinal);
        Assert.Contains("""<tr class="engine"><td>engine-b</td><td colspan="4"></td><td>down</td><td>tcp://engine-b:2376</td>""", queue, StringComparison.Ordinal);
        Assert.Contains("""<dt>instance</dt><dd>ci-pool-test</dd><dt>engine</dt><dd id="job-engine">engine-b</dd>""", jobPage, StringComparison.Ordinal);
    }
}
