using System.Text.RegularExpressions;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class DockerShutdownGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-shutdown";
}

/// <summary>
/// Stopping the real service host while jobs run on the real engine: nothing new starts, running jobs get the drain
/// time, the ones still running then are cancelled with their containers removed, and queued jobs wait in the
/// database for the next start.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerShutdownGroup.Name)]
public sealed partial class GracefulShutdownTests : IDisposable
{
    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly ServiceFolder _service;

    public GracefulShutdownTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
        _service = new ServiceFolder(engine.PuppetImage, engine.Endpoint);
    }

    public void Dispose() => _service.Dispose();

    [Fact]
    public async Task Stop_WhileJobsRun_ShortJobFinishesLongOneIsCancelledAndItsNextAttemptRunsAfterRestartWithTheQueuedJob()
    {
        // Cells run in name order: "a-short" and "b-long" take both slots, "c-later" waits in the queue.
        _service.AddCommandScenario("a-short", "sh", "-c", "sleep 3; echo short done");
        _service.AddCommandScenario("b-long", "sleep", "600");
        _service.AddCommandScenario("c-later", "true");
        _service.Configuration.Set("Docker:ParallelJobs", 2).Set("Service:DrainTimeout", "15s").Set("Schedule:PollInterval", "1h");

        RunDetail run;
        await using (WebApplication first = _service.BuildHost())
        {
            await first.StartAsync();
            // A manual run, as the API makes it: the trigger fetches the module's mirror before the jobs need it.
            ManualRunOutcome manual = await first.Services.GetRequiredService<ManualTrigger>()
                .StartAsync(new ManualRunRequest("demo", "master", null, "test"), CancellationToken.None);
            run = manual.Run ?? throw new InvalidOperationException(manual.Message);
            JobStore jobs = first.Services.GetRequiredService<JobStore>();
            await WaitForStepAsync(jobs, Job(run, "a-short").Id);
            await WaitForStepAsync(jobs, Job(run, "b-long").Id);

            await first.StopAsync();
        }

        ResultsStore store = ResultsStore.Open(_service.DatabaseFile);
        JobRecord shortJob = (await store.Jobs.GetAsync(Job(run, "a-short").Id, CancellationToken.None))!;
        JobRecord longJob = (await store.Jobs.GetAsync(Job(run, "b-long").Id, CancellationToken.None))!;
        JobRecord later = (await store.Jobs.GetAsync(Job(run, "c-later").Id, CancellationToken.None))!;
        JobRecord nextAttempt = (await store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!.Jobs.Single(j => j.RetryOf == longJob.Id);
        Assert.Equal(JobResult.Success, shortJob.Result);
        Assert.Equal(JobResult.Cancelled, longJob.Result);
        Assert.Matches(ShutdownSummary(), longJob.Summary);
        Assert.Equal((JobState.Queued, 2, "b-long"), (nextAttempt.State, nextAttempt.Attempt, nextAttempt.Scenario));
        Assert.Equal(JobState.Queued, later.State);
        Assert.Null((await store.Runs.GetAsync(run.Run.Id, CancellationToken.None))!.FinishedAt);
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));

        // The next start runs what was left queued, the long cell's next attempt included; cancelling that one
        // through the API (it would sleep for ten minutes) finishes the run.
        await using (WebApplication second = _service.BuildHost())
        {
            await second.StartAsync();
            JobStore jobs = second.Services.GetRequiredService<JobStore>();
            await WaitForStepAsync(jobs, nextAttempt.Id);
            await Eventually.ForAsync(
                $"job {later.Id} (c-later) to finish after the restart",
                async () => (await jobs.GetAsync(later.Id, CancellationToken.None))!.State == JobState.Finished,
                TimeSpan.FromMinutes(2));
            await second.Services.GetRequiredService<RunControl>().CancelRunAsync(run.Run.Id, "test", CancellationToken.None);
            RunRecord finished = await RunWaits.ForRunAsync(second.Services.GetRequiredService<RunStore>(), run.Run.Id);
            await second.StopAsync();
            Assert.Equal(JobResult.Cancelled, finished.Result);
        }

        JobRecord ranLater = (await store.Jobs.GetAsync(later.Id, CancellationToken.None))!;
        JobRecord cancelledByApi = (await store.Jobs.GetAsync(nextAttempt.Id, CancellationToken.None))!;
        Assert.Equal((JobResult.Success, 1), (ranLater.Result, ranLater.Attempt));
        Assert.Equal(JobResult.Cancelled, cancelledByApi.Result);
        Assert.Equal(4, (await store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!.Jobs.Count);
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
    }

    [Fact]
    public async Task Sigterm_ToTheServiceProcess_DrainsThenCancelsTheRunningJobAndExitsZero()
    {
        // What systemctl stop does: SIGTERM to the real process. The drain runs to its end before the exit.
        _service.AddCommandScenario("a-long", "sleep", "600");
        _service.AddCommandScenario("b-later", "true");
        _service.Configuration.Set("Service:DrainTimeout", "5s").Set("Schedule:PollInterval", "1h");
        ResultsStore store = ResultsStore.Open(_service.DatabaseFile);

        int exitCode;
        long runId;
        await using (ServiceProcess process = ServiceProcess.Start(_service, _output))
        {
            await process.WaitForHealthAsync(_service.BaseUrl);
            runId = await _service.TriggerAsync();
            RunDetail run = (await store.Runs.GetDetailAsync(runId, CancellationToken.None))!;
            await WaitForStepAsync(store.Jobs, Job(run, "a-long").Id);

            exitCode = await process.StopAsync(TimeSpan.FromMinutes(2));
        }

        RunDetail stopped = (await store.Runs.GetDetailAsync(runId, CancellationToken.None))!;
        Assert.Equal(0, exitCode);
        JobRecord cancelled = stopped.Jobs.First(j => j.Scenario == "a-long");
        Assert.Equal(JobResult.Cancelled, cancelled.Result);
        Assert.Equal(JobState.Queued, stopped.Jobs.Single(j => j.RetryOf == cancelled.Id).State);
        Assert.Matches(ShutdownSummary().ToString().Replace("15s", "5s", StringComparison.Ordinal), cancelled.Summary);
        Assert.Equal(JobState.Queued, Job(stopped, "b-later").State);
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
    }

    [Fact]
    public void ShutdownTimeout_CoversTheDrainAndTeardown_AndTheSystemdUnitAllowsIt()
    {
        var defaults = new ServiceOptions();
        string unit = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "deploy", "systemd", "cirunner.service"));
        Match stop = TimeoutStopSec().Match(unit);

        Assert.Equal(defaults.DrainTimeout + TimeSpan.FromSeconds(90), ServiceHost.ShutdownTimeoutFor(defaults));
        Assert.True(stop.Success, "the unit sets no TimeoutStopSec");
        Assert.True(
            TimeSpan.FromSeconds(int.Parse(stop.Groups["seconds"].Value, System.Globalization.CultureInfo.InvariantCulture)) >= ServiceHost.ShutdownTimeoutFor(defaults),
            $"TimeoutStopSec={stop.Groups["seconds"].Value} is shorter than the host's shutdown timeout with the default drain ({ServiceHost.ShutdownTimeoutFor(defaults)}): systemd would kill the service mid-teardown");
    }

    private static JobRecord Job(RunDetail run, string scenario) => run.Jobs.Single(j => j.Scenario == scenario);

    /// <summary>Waits until the job's log says its step started (the container runs it), so the stop finds it running.</summary>
    private static Task WaitForStepAsync(JobStore jobs, long jobId) =>
        Eventually.TrueAsync($"job {jobId}'s log to say its step started", async () =>
        {
            JobRecord? job = await jobs.GetAsync(jobId, CancellationToken.None);
            if (job?.LogPath is { } log && File.Exists(log) && (await ReadSharedAsync(log)).Contains("step 1/1 ", StringComparison.Ordinal))
            {
                return true;
            }

            Assert.False(job?.State == JobState.Finished, $"job {jobId} ended before the stop: {job?.Result} {job?.Summary}");
            return false;
        }, TimeSpan.FromMinutes(2));

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [GeneratedRegex(@"^Cancelled: the service shut down and the job was still running when the drain time \(Service:DrainTimeout 15s\) ran out, \d+ s after the stop began; its container was removed")]
    private static partial Regex ShutdownSummary();

    [GeneratedRegex(@"(?m)^TimeoutStopSec=(?<seconds>\d+)\s*$")]
    private static partial Regex TimeoutStopSec();
}
