using System.Data.Common;
using System.Net;
using System.Text.Json;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;
using Docker.DotNet.Models;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// One real <c>cirunner serve</c> process with a pool of two private dockerds reached over TCP with TLS on loopback
/// (<c>Docker:Engines</c>, one slot each): the job image is only on engine A at the start. PostgreSQL holds the store so
/// the test can read which engine ran each job while the service runs.
/// </summary>
[Trait("Category", "Docker")]
[Collection(ClusterGroup.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EnginePoolTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private TlsEnginePair? _engines;
    private ServiceFolder? _service;

    public EnginePoolTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    private TempPostgresDatabase Database => _engines!.Database;

    private PrivateDockerDaemon EngineA => _engines!.A;

    private PrivateDockerDaemon EngineB => _engines!.B;

    private ServiceFolder Service => _service!;

    public async Task InitializeAsync()
    {
        _engines = await TlsEnginePair.StartAsync();
        await EngineA.LoadImageAsync(_engine.Docker, _engine.PuppetImage);

        _service = new ServiceFolder(_engine.PuppetImage, _engines.EndpointA).UsePostgres(Database.ConnectionString);
        _service.Configuration
            .Set("Docker:Endpoint", null)
            .Set("Docker:Engines:0:Name", "a")
            .Set("Docker:Engines:0:Endpoint", _engines.EndpointA)
            .Set("Docker:Engines:0:TlsCertDirectory", _engines.ClientCertificates)
            .Set("Docker:Engines:0:Capacity", 1)
            .Set("Docker:Engines:1:Name", "b")
            .Set("Docker:Engines:1:Endpoint", _engines.EndpointB)
            .Set("Docker:Engines:1:TlsCertDirectory", _engines.ClientCertificates)
            .Set("Docker:Engines:1:Capacity", 1);
        // A job holds until the test releases it (or 90 s pass): copying the image to engine B takes about 16 s on
        // an idle machine and longer under load, so a fixed sleep could end engine A's job before B's starts.
        _service.AddCommandScenario("work", "sh", "-c", "for i in $(seq 90); do [ -e /tmp/release ] && exit 0; sleep 1; done");
    }

    /// <summary>The engines first (xunit calls this before <see cref="Dispose"/>).</summary>
    public async Task DisposeAsync()
    {
        if (_engines is not null)
        {
            await _engines.DisposeAsync();
        }
    }

    public void Dispose() => _service?.Dispose();

    [Fact]
    public async Task TwoTlsEngines_JobsRunOnBoth_ImageCopiedToTheOneLackingIt_EngineStoppedMidJobRetriedOnTheOther_ThenItRejoins()
    {
        var store = new ResultsStore(Database.CreateDatabase(), TimeProvider.System);
        Assert.Null(await ImageIdAsync(EngineB));
        string imageOnA = (await ImageIdAsync(EngineA))!;
        long lostJobId;
        await using (ServiceProcess service = ServiceProcess.Start(Service, _output))
        {
            await service.WaitForHealthAsync(Service.BaseUrl);
            string Logs() => service.Output;

            // Two runs of one cell on two engines of one slot each: both engines run a job at once (the first on engine
            // A, the least busy in pool order), and engine B first gets the image from engine A.
            await Service.TriggerAsync();
            await Service.TriggerAsync();
            await Eventually.TrueAsync(
                "a container on each engine at once",
                async () => (await ContainersAsync(EngineA)).Count == 1 && (await ContainersAsync(EngineB)).Count == 1,
                Bound,
                Logs);
            Assert.Equal(imageOnA, await ImageIdAsync(EngineB));
            await ReleaseJobsAsync(EngineA);

            // Engine B stops while it runs a `work` job: the job ends in error and its retry passes on engine A; the
            // service keeps running.
            lostJobId = (await Eventually.ForAsync("a work job running on engine b", () => RunningWorkJobOnAsync("b"), Bound, Logs))!.Value;
            await Eventually.TrueAsync("its container on engine B", async () => (await ContainersAsync(EngineB)).Count == 1, Bound, Logs);
            await EngineB.StopAsync();
            JobRecord retry = await Eventually.ForAsync(
                "the retry of the job engine B dropped to pass",
                async () =>
                {
                    await ReleaseJobsAsync(EngineA);
                    return (await store.Runs.GetDetailAsync((await store.Jobs.GetAsync(lostJobId, default))!.RunId, default))!.Jobs
                        .SingleOrDefault(j => j.RetryOf == lostJobId && j.Result == JobResult.Success);
                },
                Bound,
                Logs);
            Assert.Equal("a", await EngineOfAsync(retry.Id));
            Assert.False(service.HasExited, "the service stopped with engine B:\n" + service.Output);

            // /healthz pings each engine (over TLS here) and names the one that does not answer, and only it.
            (HttpStatusCode downStatus, string downDocker) = await DockerHealthAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, downStatus);
            Assert.StartsWith("error: engine b: ", downDocker, StringComparison.Ordinal);
            Assert.DoesNotContain("engine a", downDocker, StringComparison.Ordinal);

            // Engine B answers again: it takes work again.
            await EngineB.StartAgainAsync();
            await Eventually.TrueAsync("the pool to see engine b answer again", () => Task.FromResult(service.Output.Contains("Docker engine b answers again", StringComparison.Ordinal)), Bound, Logs);
            Assert.Equal("ok (engines a, b)", (await DockerHealthAsync()).Docker);
            await Service.TriggerAsync();
            await Service.TriggerAsync();
            await Eventually.TrueAsync(
                "a job started on engine b after it came back",
                async () => await CountAsync("SELECT COUNT(*) FROM jobs WHERE engine = 'b' AND id > @Id", retry.Id) > 0,
                Bound,
                Logs);

            foreach (RunRecord run in (await store.Runs.ListRecentAsync(null, null, 100, default)).Select(r => r.Run))
            {
                await Eventually.ForAsync(
                    $"run {run.Id} to finish",
                    async () =>
                    {
                        await ReleaseJobsAsync(EngineA);
                        await ReleaseJobsAsync(EngineB);
                        return (await store.Runs.GetAsync(run.Id, default))?.FinishedAt;
                    },
                    Bound,
                    Logs);
            }

            Assert.Equal(0, await service.StopAsync(TimeSpan.FromMinutes(2)));
        }

        JobRecord lost = (await store.Jobs.GetAsync(lostJobId, default))!;
        Assert.Equal((JobResult.Error, "b"), (lost.Result, await EngineOfAsync(lost.Id)));
        IReadOnlyList<RunSummary> runs = await store.Runs.ListRecentAsync(null, null, 100, default);
        Assert.Equal(4, runs.Count);
        Assert.All(runs, r => Assert.Equal(JobResult.Success, r.Run.Result));
        Assert.True(await CountAsync("SELECT COUNT(*) FROM jobs WHERE engine = 'a'", 0) > 0);
        Assert.Empty(await ContainersLeftAsync(EngineA));
        Assert.Empty(await ContainersLeftAsync(EngineB));
    }

    [Fact]
    public async Task EngineThatHangs_ItsJobEndsAfterTheDrainTimeAndPassesOnTheOther_ItsContainerGoesWhenItAnswersAgain()
    {
        var store = new ResultsStore(Database.CreateDatabase(), TimeProvider.System);
        await EngineB.LoadImageAsync(_engine.Docker, _engine.PuppetImage);
        Service.AddCommandScenario("work", "sleep", "45");
        // Engine b first in the pool: the first job goes there (and the shared queue's feed may offer it again meanwhile).
        Service.Configuration.Set("Docker:Engines:0:Name", "b").Set("Docker:Engines:1:Name", "a")
            .Set("Docker:Engines:0:Endpoint", _engines!.EndpointB).Set("Docker:Engines:1:Endpoint", _engines.EndpointA);
        long hungJobId;
        await using (ServiceProcess service = ServiceProcess.Start(Service, _output))
        {
            await service.WaitForHealthAsync(Service.BaseUrl);
            string Logs() => service.Output;

            long first = await Service.TriggerAsync();
            long second = await Service.TriggerAsync();
            hungJobId = (await Eventually.ForAsync("a work job running on engine b", () => RunningWorkJobOnAsync("b"), Bound, Logs))!.Value;
            await Eventually.TrueAsync(
                "its step running on engine B", async () => (await ContainersAsync(EngineB)).SingleOrDefault()?.State == "running", Bound, Logs);
            EngineB.Freeze();
            try
            {
                await Eventually.TrueAsync(
                    "the job on the hung engine to end in error",
                    async () => (await store.Jobs.GetAsync(hungJobId, default))!.Result == JobResult.Error,
                    Bound,
                    Logs);
                JobRecord hung = (await store.Jobs.GetAsync(hungJobId, default))!;
                Assert.Contains("engine b", hung.Summary, StringComparison.Ordinal);
                Assert.Contains("has not answered", hung.Summary, StringComparison.Ordinal);
                JobRecord retry = await Eventually.ForAsync(
                    "its retry to run on engine a",
                    async () => (await store.Runs.GetDetailAsync(hung.RunId, default))!.Jobs.SingleOrDefault(j => j.RetryOf == hungJobId && j.State != JobState.Queued),
                    Bound,
                    Logs);
                Assert.Equal("a", await EngineOfAsync(retry.Id));
                await Service.CancelAsync(first);
                await Service.CancelAsync(second);
            }
            finally
            {
                EngineB.Thaw();
            }

            // Back: the container the hung engine kept is removed by the pool's sweep, not left running.
            await Eventually.TrueAsync("engine B's leftover container removed", async () => (await ContainersAsync(EngineB)).Count == 0, Bound, Logs);
            Assert.Equal(0, await service.StopAsync(TimeSpan.FromMinutes(2)));
        }

        Assert.Empty(await ContainersLeftAsync(EngineA));
        Assert.Empty(await ContainersLeftAsync(EngineB));
    }

    /// <summary>Lets the held <c>work</c> steps running on the engine end (they pass).</summary>
    /// <summary>/healthz's status code and its <c>docker</c> line.</summary>
    private async Task<(HttpStatusCode Status, string Docker)> DockerHealthAsync()
    {
        using var client = new HttpClient { BaseAddress = Service.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        using HttpResponseMessage response = await client.GetAsync(new Uri("healthz", UriKind.Relative));
        using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("docker").GetString()!);
    }

    private async Task ReleaseJobsAsync(PrivateDockerDaemon daemon)
    {
        foreach (ContainerListResponse container in await ContainersAsync(daemon))
        {
            try
            {
                ContainerExecCreateResponse exec = await daemon.Client.Exec.CreateContainerExecAsync(
                    container.ID, new ContainerExecCreateParameters { Cmd = ["touch", "/tmp/release"] });
                using Docker.DotNet.MultiplexedStream stream = await daemon.Client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters());
                await stream.ReadOutputToEndAsync(CancellationToken.None);
            }
            catch (Docker.DotNet.DockerApiException)
            {
                // The container ended meanwhile (or is not running yet: the next call releases it).
            }
        }
    }

    private async Task<long?> RunningWorkJobOnAsync(string engine)
    {
        await using DbConnection connection = await Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long?>(
            "SELECT MAX(id) FROM jobs WHERE state = 'running' AND scenario = 'work' AND engine = @Engine", new { Engine = engine });
    }

    private async Task<string?> EngineOfAsync(long jobId)
    {
        await using DbConnection connection = await Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string?>("SELECT engine FROM jobs WHERE id = @Id", new { Id = jobId });
    }

    private async Task<long> CountAsync(string sql, long id)
    {
        await using DbConnection connection = await Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(sql, new { Id = id });
    }

    private async Task<string?> ImageIdAsync(PrivateDockerDaemon daemon)
    {
        try
        {
            return (await daemon.Client.Images.InspectImageAsync(_engine.PuppetImage)).ID;
        }
        catch (Docker.DotNet.DockerImageNotFoundException)
        {
            return null;
        }
    }

    private Task<IList<ContainerListResponse>> ContainersAsync(PrivateDockerDaemon daemon) => TlsEnginePair.ContainersAsync(daemon, Service.InstanceId);

    /// <summary>The instance's containers still on the engine after a bounded wait: the engine auto-removes a job's container just after the job ends.</summary>
    private Task<IList<ContainerListResponse>> ContainersLeftAsync(PrivateDockerDaemon daemon) =>
        Eventually.LastValueAsync(() => ContainersAsync(daemon), left => left.Count == 0, TimeSpan.FromSeconds(30));
}
