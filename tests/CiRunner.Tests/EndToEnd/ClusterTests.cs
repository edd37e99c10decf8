using System.Data.Common;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;

namespace CiRunner.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class ClusterGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "cluster";
}

/// <summary>
/// Two real <c>cirunner serve</c> processes, <c>east</c> and <c>west</c>, on one PostgreSQL database and one Docker
/// engine, tracking the same module and reading the same scenarios, as two machines of one CI would.
/// </summary>
[Trait("Category", "Docker")]
[Collection(ClusterGroup.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClusterTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly TempPostgresDatabase _database = new();
    private readonly ServiceFolder _east;
    private readonly ServiceFolder _west;

    public ClusterTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
        _east = new ServiceFolder(engine.PuppetImage, engine.Endpoint).UsePostgres(_database.ConnectionString);
        _east.AddCommandScenario("work", "sleep", "12");
        _west = new ServiceFolder(engine.PuppetImage, engine.Endpoint).UsePostgres(_database.ConnectionString).ShareModuleAndScenariosOf(_east);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>A test that failed between a kill and the recovery leaves the killed instance's container: removed here.</summary>
    public async Task DisposeAsync()
    {
        await _engine.RemoveContainersOfInstanceAsync(_east.InstanceId);
        await _engine.RemoveContainersOfInstanceAsync(_west.InstanceId);
    }

    public void Dispose()
    {
        _east.Dispose();
        _west.Dispose();
        _database.Dispose();
    }

    [Fact]
    public async Task TwoInstances_BothRunJobs_AHeadRunsOnce_KillDashNineOfOne_ItsJobIsRetriedOnTheOther()
    {
        var store = new ResultsStore(_database.CreateDatabase(), TimeProvider.System);
        string pushed;
        long killedJobId;
        await using ServiceProcess east = ServiceProcess.Start(_east, _output);
        await using (ServiceProcess west = ServiceProcess.Start(_west, _output))
        {
            await east.WaitForHealthAsync(_east.BaseUrl);
            await west.WaitForHealthAsync(_west.BaseUrl);
            string Both() => $"east:\n{east.Output}\nwest:\n{west.Output}";
            await Eventually.ForAsync("the first poll of demo (it records the heads)", async () => (await store.PollStatus.GetAsync("demo", default))?.LastSuccessAt, Bound, Both);

            // Both instances poll demo every 5 s: the pushed head must still start one run.
            pushed = _east.Push();
            await Eventually.ForAsync("a run for the pushed head", async () => (await RunsAsync(store)).FirstOrDefault(r => r.Cause == RunCause.Commit && r.CommitSha == pushed), Bound, Both);
            for (int i = 0; i < 3; i++)
            {
                await _east.TriggerAsync();
            }

            // One slot each: with four jobs queued on east's side, west takes work from the shared queue.
            killedJobId = await JobRunningOnWestBesideOneOnEastAsync(Both);

            west.KillHard();
        }

        Assert.Single(await _engine.ContainersOfInstanceAsync(_west.InstanceId));
        foreach (RunRecord run in await RunsAsync(store))
        {
            await Eventually.ForAsync($"run {run.Id} to finish", async () => (await store.Runs.GetAsync(run.Id, default))?.FinishedAt, Bound, () => east.Output);
        }

        // Both poll on: had the head not been stored with its one run, a later poll would start another.
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(0, await east.StopAsync(TimeSpan.FromMinutes(2)));

        IReadOnlyList<RunRecord> runs = await RunsAsync(store);
        Assert.Equal(4, runs.Count);
        Assert.Equal(pushed, Assert.Single(runs, r => r.Cause == RunCause.Commit).CommitSha);
        Assert.All(runs, r => Assert.Equal(JobResult.Success, r.Result));

        JobRecord killed = (await store.Jobs.GetAsync(killedJobId, default))!;
        Assert.Equal(JobResult.Interrupted, killed.Result);
        Assert.StartsWith($"Instance {_west.InstanceId} (", killed.Summary, StringComparison.Ordinal);
        Assert.Contains($"instance {_east.InstanceId} removed its container", killed.Summary, StringComparison.Ordinal);
        JobRecord retry = (await store.Runs.GetDetailAsync(killed.RunId, default))!.Jobs.Single(j => j.RetryOf == killed.Id);
        Assert.Equal((2, JobResult.Success), (retry.Attempt, retry.Result));
        Assert.Equal(_east.InstanceId, await InstanceOfAsync(retry.Id));

        Assert.Empty(await _engine.ContainersLeftAsync(_west.InstanceId));
        Assert.Empty(await _engine.ContainersLeftAsync(_east.InstanceId));
    }

    [Fact]
    public async Task TwoInstances_CancelThroughOneOfARunWhoseJobRunsOnTheOther_StopsItThere()
    {
        var store = new ResultsStore(_database.CreateDatabase(), TimeProvider.System);
        await using ServiceProcess east = ServiceProcess.Start(_east, _output);
        await using ServiceProcess west = ServiceProcess.Start(_west, _output);
        await east.WaitForHealthAsync(_east.BaseUrl);
        await west.WaitForHealthAsync(_west.BaseUrl);
        string Both() => $"east:\n{east.Output}\nwest:\n{west.Output}";
        await _west.TriggerAsync();
        await _west.TriggerAsync();
        JobRecord onWest = (await store.Jobs.GetAsync(await JobRunningOnWestBesideOneOnEastAsync(Both), default))!;

        System.Text.Json.JsonElement answer = await _east.CancelAsync(onWest.RunId);
        JobRecord cancelled = await Eventually.ForAsync(
            "the job to end on west", async () => await store.Jobs.GetAsync(onWest.Id, default) is { State: JobState.Finished } done ? done : null, TimeSpan.FromSeconds(10), Both);
        await Eventually.TrueAsync("west's container to go", async () => (await _engine.ContainersOfInstanceAsync(_west.InstanceId)).Count == 0, TimeSpan.FromSeconds(30), Both);
        Assert.Equal(0, await west.StopAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal(0, await east.StopAsync(TimeSpan.FromMinutes(2)));

        Assert.Equal([onWest.Id], answer.GetProperty("stoppingRunningJobs").EnumerateArray().Select(j => j.GetInt64()));
        Assert.Equal(JobResult.Cancelled, cancelled.Result);
        Assert.Equal(JobResult.Cancelled, (await store.Runs.GetAsync(onWest.RunId, default))!.Result);
    }

    /// <summary>Waits until each instance runs a job and west's container is up; returns west's job.</summary>
    private async Task<long> JobRunningOnWestBesideOneOnEastAsync(Func<string> logs)
    {
        IReadOnlyList<(long Id, string Instance)> running = await Eventually.ForAsync(
            "a job running on each instance",
            async () => await RunningAsync() is { Count: 2 } both && both.Select(j => j.Instance).Distinct().Count() == 2 ? both : null,
            Bound,
            logs);
        await Eventually.ForAsync("west's container", async () => (await _engine.ContainersOfInstanceAsync(_west.InstanceId)).SingleOrDefault(), Bound, logs);
        return running.Single(j => j.Instance == _west.InstanceId).Id;
    }

    private async Task<IReadOnlyList<(long Id, string Instance)>> RunningAsync()
    {
        await using DbConnection connection = await _database.OpenConnectionAsync();
        return (await connection.QueryAsync<(long, string)>("SELECT id, instance_id FROM jobs WHERE state = 'running' ORDER BY id")).ToList();
    }

    private async Task<string?> InstanceOfAsync(long jobId)
    {
        await using DbConnection connection = await _database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string?>("SELECT instance_id FROM jobs WHERE id = @Id", new { Id = jobId });
    }

    private static async Task<IReadOnlyList<RunRecord>> RunsAsync(ResultsStore store) =>
        (await store.Runs.ListRecentAsync("demo", null, 100, default)).Select(r => r.Run).ToList();
}
