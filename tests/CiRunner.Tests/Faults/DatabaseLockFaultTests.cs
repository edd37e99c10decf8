using System.Net;
using System.Text.Json;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Faults;

/// <summary>The service's fault tests on the real engine; a collection of their own, beside the other Docker groups.</summary>
[CollectionDefinition(Name)]
public sealed class DockerResilienceGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-resilience";
}

/// <summary>
/// Another process (Debian's sqlite3 shell) holds an exclusive lock on the service's database while the service
/// polls a real git repository, creates runs and runs jobs on the real engine.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerResilienceGroup.Name)]
public sealed class DatabaseLockFaultTests : IAsyncLifetime
{
    private readonly DockerEngineFixture _engine;
    private readonly ServiceUnderTest _service;

    public DatabaseLockFaultTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _service = new ServiceUnderTest(engine, output);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task LockHeldForSomeSeconds_WritesWaitItOut_NoRunLostOrDoubled_EveryJobFinished()
    {
        // A job that is still running when the lock is taken, so its step and its end are recorded under the lock.
        _service.Folder.Write("scenarios/slow.yaml", "name: slow\nmanifest: quick.pp\nmodules: [demo]\nsteps:\n  - type: command\n    name: wait\n    command: [sleep, \"6\"]\n");
        await _service.StartAsync();
        await WaitForFirstPollAsync();
        using HttpClient client = _service.Client();
        using HttpResponseMessage before = await ServiceUnderTest.TriggerAsync(client);
        long beforeRun = await RunIdAsync(before);
        await WaitAsync("a job of the first run to run", async () =>
            (await _service.Get<JobStore>().ListByStateAsync(JobState.Running, CancellationToken.None)).Any(j => j.RunId == beforeRun));

        string pushed;
        ModulePollOutcome poll;
        HttpResponseMessage during;
        await using (SqliteLockHolder holder = await SqliteLockHolder.AcquireAsync(_service.DatabaseFile))
        {
            pushed = _service.Remote.Commit("master", "pushed while locked");
            Task<ModulePollOutcome> polling = _service.Get<ModulePoller>().PollAsync(_service.Settings.Modules[0], CancellationToken.None);
            Task<HttpResponseMessage> triggering = ServiceUnderTest.TriggerAsync(client);
            await _service.Logs.WaitForAsync("the run creation waiting for the lock", l => IsLockWait(l, "CreateAsync"));
            await _service.Logs.WaitForAsync("the running job's progress waiting for the lock", l => IsLockWait(l, "SetImageAsync") || IsLockWait(l, "AddStepAsync") || IsLockWait(l, "MarkFinishedAsync"));
            Assert.False(polling.IsCompleted, "the poll finished while the database was locked");
            await holder.ReleaseAsync();
            poll = await polling;
            during = await triggering;
        }

        using (during)
        {
            long duringRun = await RunIdAsync(during);
            long polledRun = Assert.Single(poll.RunIds);
            Assert.Null(poll.Error);
            foreach (long runId in (long[])[beforeRun, duringRun, polledRun])
            {
                await _service.WaitForRunAsync(runId);
            }

            // Another poll finds the pushed head stored with its run, so it starts nothing again.
            ModulePollOutcome again = await _service.Get<ModulePoller>().PollAsync(_service.Settings.Modules[0], CancellationToken.None);
            Assert.Empty(again.RunIds);
            IReadOnlyList<RunRecord> runs = await _service.RunsAsync();
            Assert.Equal(((long[])[beforeRun, duringRun, polledRun]).Order(), runs.Select(r => r.Id).Order());
            Assert.Single(runs, r => r.CommitSha == pushed && r.Cause == RunCause.Commit);
            await AssertEveryJobSucceededAsync(runs);
            Assert.Contains(_service.Logs.Entries, l => l.EventId.Id == 5006);
            Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
        }
    }

    [Fact]
    public async Task LockHeldPastTheTimeout_ClearErrorInLogAndPollStatus_JobStaysQueued_ServiceWorksAfterRelease()
    {
        _service.Configuration.Set("Service:DatabaseLockTimeout", "5s");
        await _service.StartAsync();
        await WaitForFirstPollAsync();

        // A queued job the dispatcher takes while the lock is held (stored first, queued in memory under the lock).
        ResultsStore store = ResultsStore.Open(_service.DatabaseFile);
        string head = (await store.PollState.GetAsync("demo", "master", CancellationToken.None))!.CommitSha;
        RunDetail queued = await store.Runs.CreateAsync(
            new NewRun(RunCause.Manual, "demo", "master", head, RequestedBy: "test"),
            [new NewJob("zed/quick", JobKind.Deploy, "zed", null, "quick", Priority: JobPriority.Manual)],
            CancellationToken.None);

        string pushed;
        ModulePollOutcome failed;
        await using (SqliteLockHolder holder = await SqliteLockHolder.AcquireAsync(_service.DatabaseFile))
        {
            _service.Get<JobQueue>().Enqueue(new QueuedJob(queued.Run.Id, queued.Jobs[0].Id, JobPriority.Manual));
            await _service.Logs.WaitForAsync("the job start deferred", l => l.Message.Contains($"Job {queued.Jobs[0].Id} of run {queued.Run.Id} stays queued", StringComparison.Ordinal));

            // The poll only after the job's start gave up: the poll's failure must still be waiting to be stored when
            // the lock goes (a poll started with the job would race the job's own waits for the lock).
            pushed = _service.Remote.Commit("master", "pushed while locked");
            Task<ModulePollOutcome> polling = _service.Get<ModulePoller>().PollAsync(_service.Settings.Modules[0], CancellationToken.None);
            await _service.Logs.WaitForAsync("the poll failing", l => l.EventId.Id == 6002);

            // Released while the poll stores its failure (that write waits up to the timeout too), so the status shows it.
            await holder.ReleaseAsync();
            failed = await polling;
        }

        Assert.NotNull(failed.Error);
        Assert.Contains($"The results database {_service.DatabaseFile} is locked by another process", failed.Error, StringComparison.Ordinal);
        Assert.Contains("sqlite3 shell", failed.Error, StringComparison.Ordinal);
        Assert.Contains("Service:DatabaseLockTimeout", failed.Error, StringComparison.Ordinal);
        ModulePollStatus status = (await store.PollStatus.GetAsync("demo", CancellationToken.None))!;
        Assert.Equal(failed.Error, status.LastError);
        Assert.Equal(1, status.ConsecutiveFailures);
        Assert.Contains(_service.Logs.Entries, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error && l.Message.Contains("is locked by another process", StringComparison.Ordinal));

        // Alive and working: the job that could not start runs now, and the next poll starts the pushed head's run once.
        using HttpClient client = _service.Client();
        using HttpResponseMessage health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        RunRecord ranLate = await _service.WaitForRunAsync(queued.Run.Id);
        Assert.Equal(JobResult.Success, ranLate.Result);
        ModulePollOutcome recovered = await _service.Get<ModulePoller>().PollAsync(_service.Settings.Modules[0], CancellationToken.None);
        Assert.Null(recovered.Error);
        await _service.WaitForRunAsync(Assert.Single(recovered.RunIds));
        IReadOnlyList<RunRecord> runs = await _service.RunsAsync();
        Assert.Single(runs, r => r.CommitSha == pushed);
        await AssertEveryJobSucceededAsync(runs);
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
    }

    private static bool IsLockWait(CapturedLog log, string operation) =>
        log.EventId.Id == 5005 && log.Message.Contains($"; {operation} keeps trying", StringComparison.Ordinal);

    private async Task WaitForFirstPollAsync() =>
        await WaitAsync("the first poll", async () => (await _service.Get<PollStatusStore>().GetAsync("demo", CancellationToken.None))?.LastSuccessAt is not null);

    private async Task AssertEveryJobSucceededAsync(IReadOnlyList<RunRecord> runs)
    {
        foreach (RunRecord run in runs)
        {
            RunDetail detail = (await ResultsStore.Open(_service.DatabaseFile).Runs.GetDetailAsync(run.Id, CancellationToken.None))!;
            Assert.NotNull(detail.Run.FinishedAt);
            Assert.All(detail.Jobs, job => Assert.Equal((JobState.Finished, JobResult.Success), (job.State, job.Result!.Value)));
        }
    }

    private static async Task<long> RunIdAsync(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        using JsonDocument json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("runId").GetInt64();
    }

    private static Task WaitAsync(string what, Func<Task<bool>> condition) => Eventually.TrueAsync(what, condition, TimeSpan.FromSeconds(90));
}
