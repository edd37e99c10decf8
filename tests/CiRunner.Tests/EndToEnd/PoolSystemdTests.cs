using System.Net;
using System.Text.Json;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Tests.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// A pool of two engines whose hosts differ: on the shared engine the release image boots systemd, on a private dockerd
/// the same image name is one whose boot never finishes in time. Each engine's start-up check, executor, <c>/healthz</c>
/// and <c>cirunner validate</c> speak for that engine alone, and the pool sends jobs that boot systemd to the engine that can.
/// </summary>
[Trait("Category", "Docker")]
[Collection(ClusterGroup.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PoolSystemdTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _folder = new();
    private PrivateDockerDaemon? _daemonB;
    private ServiceFolder? _service;

    public PoolSystemdTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    private PrivateDockerDaemon EngineB => _daemonB!;

    private ServiceFolder Service => _service!;

    public async Task InitializeAsync()
    {
        // Engine b has, under the release image's name, an image whose boot waits on a 60 s unit: past the boot timeout.
        string slowBoot = await SystemdJobTests.SlowBootImageAsync(_engine, _folder, _output);
        _daemonB = await PrivateDockerDaemon.StartAsync();
        await EngineB.LoadImageAsync(_engine.Docker, slowBoot);
        string[] name = _engine.PuppetImage.Split(':');
        await EngineB.Client.Images.TagImageAsync(slowBoot, new ImageTagParameters { RepositoryName = name[0], Tag = name[1] });

        _service = new ServiceFolder(_engine.PuppetImage, _engine.Endpoint);
        _service.Configuration
            .Set("Docker:Endpoint", null)
            .Set("Docker:Engines:0:Name", "a")
            .Set("Docker:Engines:0:Endpoint", _engine.Endpoint)
            .Set("Docker:Engines:0:Capacity", 1)
            .Set("Docker:Engines:1:Name", "b")
            .Set("Docker:Engines:1:Endpoint", EngineB.Endpoint)
            .Set("Docker:Engines:1:Capacity", 2)
            .Set("Docker:BootTimeout", "30s")
            .Set("Releases:0:Init", "systemd");
        _service.AddCommandScenario("work", "true");
    }

    public async Task DisposeAsync()
    {
        if (_daemonB is not null)
        {
            await _daemonB.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _service?.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task EngineThatCannotBootSystemd_ItsCheckExecutorAndHealthSayIt_TheOtherEngineStillRunsSystemdJobs()
    {
        await using WebApplication app = Service.BuildHost();
        await app.StartAsync();
        try
        {
            // When each engine's start-up check has an answer
            EnginePool pool = app.Services.GetRequiredService<EnginePool>();
            JobEngine a = pool.Find("a")!;
            JobEngine b = pool.Find("b")!;
            await Eventually.TrueAsync("both engines' systemd checks to answer", () => Task.FromResult(a.Systemd?.Last is not null && b.Systemd?.Last is not null), Bound);

            // Then each answer is that engine's own
            Assert.True(a.Systemd!.Last!.Works, a.Systemd.Last.Describe());
            Assert.False(b.Systemd!.Last!.Works);
            Assert.Contains("did not come up within 30 s", b.Systemd.Last.Detail, StringComparison.Ordinal);

            // And /healthz names the engine that cannot, and only it
            using var client = new HttpClient { BaseAddress = Service.BaseUrl };
            using HttpResponseMessage health = await client.GetAsync(new Uri("healthz", UriKind.Relative));
            using JsonDocument body = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
            string systemd = body.RootElement.GetProperty("systemd").GetString()!;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.StartsWith("error: engine b: this engine cannot boot systemd in an unprivileged container", systemd, StringComparison.Ordinal);
            Assert.DoesNotContain("engine a", systemd, StringComparison.Ordinal);
            // (both engines answer their pings: the docker line names the pool)
            Assert.Equal("ok (engines a, b)", body.RootElement.GetProperty("docker").GetString());

            // And the pool gives a job that boots systemd to engine a even with engine b idle, and while engine a's one
            // slot is taken the job waits for it rather than go to engine b
            var queued = new QueuedJob(1, 1, JobPriority.Manual) { Releases = ["zed"], Cell = new QueuedCell(JobKind.Deploy, "zed", null, "work") };
            JobEngine? taken = pool.Reserve(queued);
            Assert.Equal("a", taken?.Name);
            Assert.False(pool.CanTake(queued));
            Assert.Null(pool.Reserve(queued));
            pool.Release(taken!);

            // And a job that boots systemd ends at once on engine b, naming the requirement, and runs on engine a
            JobOutcome onB = await b.Executor.ExecuteAsync(SystemdJob(), new RecordingProgress(), CancellationToken.None);
            Assert.Equal(JobResult.Error, onB.Result);
            Assert.Contains("this engine cannot boot systemd", onB.Summary, StringComparison.Ordinal);
            Assert.Null(onB.ContainerId);
            JobOutcome onA = await a.Executor.ExecuteAsync(SystemdJob(), new RecordingProgress(), CancellationToken.None);
            Assert.True(onA.Result == JobResult.Success, onA.Summary);
        }
        finally
        {
            await app.StopAsync();
        }

        // And validate checks each engine, failing for the one that cannot
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = await InProcessServe.InvokeAsync(["validate", "--config", Service.ConfigFile], output, error, CancellationToken.None);
        Assert.True(exit == 1, $"{output}\n{error}");
        Assert.Contains("systemd      engine a: ok: systemd boots in an unprivileged container on this engine", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("systemd      engine b: FAILED", output.ToString(), StringComparison.Ordinal);
        Assert.StartsWith($"Docker:Engines (b, {EngineB.Endpoint}): this engine cannot boot systemd", error.ToString(), StringComparison.Ordinal);
    }

    private JobSpec SystemdJob() =>
        TestJobs.Job(Service.InstanceId, _engine.PuppetImage, _folder, phases: TestJobs.Phase("deploy", null, [], [], TestJobs.Command("after boot", "true")))
            with { Init = InitSystem.Systemd };
}
