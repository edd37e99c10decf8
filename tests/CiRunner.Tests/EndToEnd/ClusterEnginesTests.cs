using System.Data.Common;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;
using Docker.DotNet.Models;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// Two real <c>cirunner serve</c> processes on one PostgreSQL database, each with its own private dockerd reached over
/// TCP with TLS on loopback (one CA and one client certificate for both engines, as a CI's engines share a PKI):
/// <c>east</c> on engine A, <c>west</c> on engine B.
/// </summary>
[Trait("Category", "Docker")]
[Collection(ClusterGroup.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClusterEnginesTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private TlsEnginePair? _engines;
    private ServiceFolder? _east;
    private ServiceFolder? _west;

    public ClusterEnginesTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    private TempPostgresDatabase Database => _engines!.Database;

    private PrivateDockerDaemon EngineA => _engines!.A;

    private PrivateDockerDaemon EngineB => _engines!.B;

    private ServiceFolder East => _east!;

    private ServiceFolder West => _west!;

    public async Task InitializeAsync()
    {
        _engines = await TlsEnginePair.StartAsync();
        await Task.WhenAll(EngineA.LoadImageAsync(_engine.Docker, _engine.PuppetImage), EngineB.LoadImageAsync(_engine.Docker, _engine.PuppetImage));

        _east = new ServiceFolder(_engine.PuppetImage, _engines.EndpointA).UsePostgres(Database.ConnectionString);
        _east.Configuration.Set("Docker:TlsCertDirectory", _engines.ClientCertificates);
        _east.AddCommandScenario("work", "sleep", "12");
        _west = new ServiceFolder(_engine.PuppetImage, _engines.EndpointB).UsePostgres(Database.ConnectionString).ShareModuleAndScenariosOf(_east);
        _west.Configuration.Set("Docker:TlsCertDirectory", _engines.ClientCertificates);
    }

    /// <summary>The engines first (xunit calls this before <see cref="Dispose"/>).</summary>
    public async Task DisposeAsync()
    {
        if (_engines is not null)
        {
            await _engines.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _east?.Dispose();
        _west?.Dispose();
    }

    [Fact]
    public async Task EngineStoppedMidJob_ItsJobIsRetriedOnTheOtherInstance_ThenAKilledInstancesContainerGoesFromItsEngineOverTls()
    {
        var store = new ResultsStore(Database.CreateDatabase(), TimeProvider.System);
        await using ServiceProcess east = ServiceProcess.Start(East, _output);
        long killedJobId;
        long lostToEngineJobId;
        await using (ServiceProcess west = ServiceProcess.Start(West, _output))
        {
            await east.WaitForHealthAsync(East.BaseUrl);
            await west.WaitForHealthAsync(West.BaseUrl);
            string Both() => $"east:\n{east.Output}\nwest:\n{west.Output}";

            // Engine B stops while west runs a job on it: the job ends in error and its retry runs on east (engine A).
            await West.TriggerAsync();
            await West.TriggerAsync();
            lostToEngineJobId = await JobRunningOnWestAsync(Both);
            await EngineB.StopAsync();
            JobRecord retry = await Eventually.ForAsync(
                "the retry of the job engine B dropped to pass",
                async () => (await store.Runs.GetDetailAsync((await store.Jobs.GetAsync(lostToEngineJobId, default))!.RunId, default))!.Jobs
                    .SingleOrDefault(j => j.RetryOf == lostToEngineJobId && j.Result == JobResult.Success),
                Bound,
                Both);
            Assert.False(west.HasExited, "west stopped with its engine:\n" + west.Output);
            Assert.Equal(East.InstanceId, await InstanceOfAsync(retry.Id));

            // Engine B is back: west takes work again; then west is killed while a job of its runs there.
            await EngineB.StartAgainAsync();
            await Eventually.TrueAsync("west to see engine B answer again", () => Task.FromResult(west.Output.Contains("answers again", StringComparison.Ordinal)), Bound, Both);
            await West.TriggerAsync();
            await West.TriggerAsync();
            killedJobId = await JobRunningOnWestAsync(Both);
            west.KillHard();
        }

        foreach (RunRecord run in (await store.Runs.ListRecentAsync(null, null, 100, default)).Select(r => r.Run))
        {
            await Eventually.ForAsync($"run {run.Id} to finish", async () => (await store.Runs.GetAsync(run.Id, default))?.FinishedAt, Bound, () => east.Output);
        }

        Assert.Equal(0, await east.StopAsync(TimeSpan.FromMinutes(2)));

        JobRecord lost = (await store.Jobs.GetAsync(lostToEngineJobId, default))!;
        Assert.Equal((JobResult.Error, West.InstanceId), (lost.Result, await InstanceOfAsync(lost.Id)));
        JobRecord killed = (await store.Jobs.GetAsync(killedJobId, default))!;
        Assert.Equal(JobResult.Interrupted, killed.Result);
        IReadOnlyList<RunSummary> runs = await store.Runs.ListRecentAsync(null, null, 100, default);
        Assert.Equal(4, runs.Count);
        Assert.All(runs, r => Assert.Equal(JobResult.Success, r.Run.Result));
        Assert.Empty(await ContainersAsync(EngineB, West.InstanceId));
        Assert.Empty(await ContainersAsync(EngineA, West.InstanceId));
        Assert.Empty(await ContainersAsync(EngineA, East.InstanceId));
    }

    /// <summary>Waits until west runs a job and its container is up on engine B; returns the job.</summary>
    private async Task<long> JobRunningOnWestAsync(Func<string> logs)
    {
        long? jobId = await Eventually.ForAsync(
            "a job running on west",
            async () =>
            {
                await using DbConnection connection = await Database.OpenConnectionAsync();
                return await connection.ExecuteScalarAsync<long?>(
                    "SELECT MAX(id) FROM jobs WHERE state = 'running' AND instance_id = @Id", new { Id = West.InstanceId });
            },
            Bound,
            logs);
        await Eventually.TrueAsync("west's container on engine B", async () => (await ContainersAsync(EngineB, West.InstanceId)).Count == 1, Bound, logs);
        return jobId!.Value;
    }

    private static Task<IList<ContainerListResponse>> ContainersAsync(PrivateDockerDaemon daemon, string instanceId) => TlsEnginePair.ContainersAsync(daemon, instanceId);

    private async Task<string?> InstanceOfAsync(long jobId)
    {
        await using DbConnection connection = await Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string?>("SELECT instance_id FROM jobs WHERE id = @Id", new { Id = jobId });
    }
}
