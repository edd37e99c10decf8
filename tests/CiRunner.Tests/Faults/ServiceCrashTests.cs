using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Faults;

[CollectionDefinition(Name)]
public sealed class ServiceCrashGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "faults-crash";
}

/// <summary>
/// <c>kill -9</c> of the real service process mid-job, then a start with the same configuration: the orphaned
/// container is removed, the job ends <c>interrupted</c> and its next attempt passes, and a head that was polled
/// (its run created) but not yet run before the kill runs exactly once. No run is lost, no container is left, every
/// job ends in a final state.
/// </summary>
[Trait("Category", "Docker")]
[Collection(ServiceCrashGroup.Name)]
public sealed class ServiceCrashTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly ServiceFolder _service;

    public ServiceCrashTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
        _service = new ServiceFolder(engine.PuppetImage, engine.Endpoint);
    }

    public void Dispose() => _service.Dispose();

    [Fact]
    public async Task KillDashNine_MidJob_NextStartReapsRetriesAndRunsThePolledHeadOnce()
    {
        // One slot, and a job long enough for a poll to find a second head while it runs.
        _service.AddCommandScenario("work", "sleep", "12");
        ResultsStore store = ResultsStore.Open(_service.DatabaseFile);

        long manualRunId;
        string pushed;
        string orphan;
        await using (ServiceProcess first = ServiceProcess.Start(_service, _output))
        {
            await first.WaitForHealthAsync(_service.BaseUrl);
            await Eventually.ForAsync("the first poll of demo (it records the heads)", async () => (await store.PollStatus.GetAsync("demo", default))?.LastSuccessAt, Bound, () => first.Output);

            manualRunId = await _service.TriggerAsync();
            JobRecord running = await Eventually.ForAsync(
                "the manual run's job to run", async () => (await JobsAsync(store, manualRunId)).SingleOrDefault(j => j.State == JobState.Running), Bound, () => first.Output);
            orphan = (await Eventually.ForAsync("its container", async () => (await _engine.ContainersOfInstanceAsync(_service.InstanceId)).SingleOrDefault(), Bound, () => first.Output)).ID;

            pushed = _service.Push();
            RunRecord polled = await Eventually.ForAsync(
                "a run for the pushed head", async () => (await RunsAsync(store)).SingleOrDefault(r => r.CommitSha == pushed), Bound, () => first.Output);
            Assert.Equal(JobState.Queued, Assert.Single(await JobsAsync(store, polled.Id)).State);
            Assert.Equal(JobState.Running, (await store.Jobs.GetAsync(running.Id, default))!.State);

            first.KillHard();
        }

        // What the kill left: a job marked running and its container, still there.
        Assert.Contains(await _engine.ContainersOfInstanceAsync(_service.InstanceId), c => c.ID == orphan);

        DateTimeOffset restarted = TimeProvider.System.GetUtcNow();
        await using (ServiceProcess second = ServiceProcess.Start(_service, _output))
        {
            await second.WaitForHealthAsync(_service.BaseUrl);
            foreach (RunRecord run in await RunsAsync(store))
            {
                await Eventually.ForAsync($"run {run.Id} to finish", async () => (await store.Runs.GetAsync(run.Id, default))?.FinishedAt, Bound, () => second.Output);
            }

            // A poll after the restart: had the head of the polled run not been stored, it would start a second run now.
            await Eventually.ForAsync("a poll after the restart", async () => (await store.PollStatus.GetAsync("demo", default))!.LastPollAt > restarted.AddSeconds(1), Bound, () => second.Output);
            Assert.Equal(0, await second.StopAsync(TimeSpan.FromMinutes(2)));
        }

        IReadOnlyList<RunRecord> runs = await RunsAsync(store);
        Assert.Equal(2, runs.Count);
        RunDetail manual = (await store.Runs.GetDetailAsync(manualRunId, default))!;
        RunDetail commit = (await store.Runs.GetDetailAsync(runs.Single(r => r.CommitSha == pushed).Id, default))!;

        Assert.Equal(JobResult.Success, manual.Run.Result);
        Assert.Equal([(1, JobResult.Interrupted), (2, JobResult.Success)], manual.Jobs.Select(j => (j.Attempt, j.Result!.Value)));
        Assert.Equal(manual.Jobs[0].Id, manual.Jobs[1].RetryOf);
        Assert.Contains($"Retried as job {manual.Jobs[1].Id} (attempt 2 of 3)", manual.Jobs[0].Summary, StringComparison.Ordinal);

        JobRecord once = Assert.Single(commit.Jobs);
        Assert.Equal((1, JobResult.Success, JobResult.Success), (once.Attempt, once.Result, commit.Run.Result));
        Assert.Equal(pushed, (await store.PollState.ListAsync("demo", default)).Single(h => h.Branch == "master").CommitSha);

        Assert.All(manual.Jobs.Concat(commit.Jobs), job => Assert.Equal(JobState.Finished, job.State));
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
    }

    private static async Task<IReadOnlyList<RunRecord>> RunsAsync(ResultsStore store) =>
        (await store.Runs.ListRecentAsync("demo", null, 100, default)).Select(r => r.Run).ToList();

    private static async Task<IReadOnlyList<JobRecord>> JobsAsync(ResultsStore store, long runId) =>
        (await store.Runs.GetDetailAsync(runId, default))?.Jobs ?? [];
}
