using System.Collections.Concurrent;
using System.Text.Json;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.Faults;

[CollectionDefinition(Name)]
public sealed class DockerRestartGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "faults-docker-restart";
}

/// <summary>
/// The Docker daemon restarted mid-job, on a private daemon of the test's own (the shared one is never touched):
/// the job ends <c>error</c> with evidence and is retried, queued jobs wait for the engine meanwhile (the queue says
/// so), the service keeps answering and reports the engine down then up, and the retry passes once it is back.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerRestartGroup.Name)]
public sealed class DockerRestartTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private ServiceFolder? _service;

    public DockerRestartTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    public void Dispose() => _service?.Dispose();

    [Fact]
    public async Task DaemonRestart_MidJob_JobErrorsIsRetriedAndPassesWhileTheServiceStaysUp()
    {
        await using PrivateDockerDaemon daemon = await PrivateDockerDaemon.StartAsync();
        await daemon.LoadImageAsync(_engine.Docker, _engine.PuppetImage);
        _service = new ServiceFolder(_engine.PuppetImage, daemon.Endpoint);
        _service.AddCommandScenario("work", "sleep", "5");
        _service.Configuration.Set("Schedule:PollInterval", "1h");

        await using WebApplication app = _service.BuildHost();
        await app.StartAsync();
        using var watching = new CancellationTokenSource();
        var health = new ConcurrentQueue<string>();
        Task watcher = WatchHealthAsync(health, watching.Token);
        try
        {
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", _service.FirstCommit, RequestedBy: "test"), CancellationToken.None);
            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            long first = run.Jobs[0].Id;
            string container = (await Eventually.ForAsync(
                "the job's container on the private daemon", async () => (await ContainersAsync(daemon)).SingleOrDefault(c => c.State == "running"), Bound, () => daemon.Log)).ID;
            await Eventually.ForAsync("the job to run", async () => (await jobs.GetAsync(first, default))?.State == JobState.Running, Bound);

            await daemon.StopAsync();
            JobRecord failed = await Eventually.ForAsync("the job to end while the daemon is down", async () => await jobs.GetAsync(first, default) is { State: JobState.Finished } job ? job : null, Bound);
            string waiting = await Eventually.ForAsync("the queue to say it waits for the engine", () => QueueWaitingAsync(), Bound);
            using var pages = new HttpClient();
            string page = await pages.GetStringAsync(new Uri(_service.BaseUrl, "queue"));
            await daemon.StartAgainAsync();
            RunRecord finished = await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id);

            RunDetail detail = (await app.Services.GetRequiredService<RunStore>().GetDetailAsync(run.Run.Id, default))!;
            Assert.Equal(JobResult.Error, failed.Result);
            Assert.Contains($"container {container[..12]}", failed.Summary, StringComparison.Ordinal);
            Assert.Contains("transient: ", failed.Summary, StringComparison.Ordinal);
            Assert.StartsWith("waiting for the Docker engine: no answer since ", waiting, StringComparison.Ordinal);
            Assert.Contains("<p class=\"result-error\" style=\"padding:.4rem .6rem\" id=\"queue-waiting\" role=\"status\">Queued jobs are waiting for the Docker engine", page, StringComparison.Ordinal);
            JobRecord retry = Assert.Single(detail.Jobs, j => j.RetryOf == first);
            Assert.Equal((2, JobResult.Success), (retry.Attempt, retry.Result));
            Assert.Equal(JobResult.Success, finished.Result);
            Assert.Empty(await ContainersLeftAsync(daemon));
        }
        finally
        {
            await watching.CancelAsync();
            await watcher;
            await app.StopAsync();
        }

        // The service answered every probe, and said the engine was down, then up again.
        List<string> seen = [.. health];
        Assert.DoesNotContain(seen, s => s.StartsWith("no answer", StringComparison.Ordinal));
        int down = seen.FindIndex(s => s.StartsWith("503 error", StringComparison.Ordinal));
        Assert.True(down >= 0, "healthz never reported the engine down: " + string.Join(", ", seen.Distinct()));
        Assert.Contains("200 ok", seen.Skip(down));
    }

    /// <summary>What /healthz said about Docker every 200 ms (status code and the docker field), or that it did not answer.</summary>
    private async Task WatchHealthAsync(ConcurrentQueue<string> seen, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = _service!.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using HttpResponseMessage response = await client.GetAsync(new Uri("healthz", UriKind.Relative), cancellationToken);
                using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                string docker = body.RootElement.GetProperty("docker").GetString() ?? "";
                seen.Enqueue($"{(int)response.StatusCode} {(docker.StartsWith("error", StringComparison.Ordinal) ? "error" : docker)}");
                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                seen.Enqueue($"no answer: {e.Message}");
                _output.WriteLine($"healthz did not answer: {e.Message}");
            }
        }
    }

    private async Task<string?> QueueWaitingAsync()
    {
        using var client = new HttpClient { BaseAddress = _service!.BaseUrl };
        using JsonDocument queue = JsonDocument.Parse(await client.GetStringAsync(new Uri("api/queue", UriKind.Relative)));
        return queue.RootElement.EnumerateArray().Select(e => e.GetProperty("waiting").GetString()).FirstOrDefault(w => w is not null);
    }

    private async Task<IList<ContainerListResponse>> ContainersAsync(PrivateDockerDaemon daemon) =>
        await daemon.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Instance}={_service!.InstanceId}"] = true },
            },
        });

    /// <summary>The instance's containers still there after a bounded wait (auto-remove finishes just after a job ends).</summary>
    private Task<IList<ContainerListResponse>> ContainersLeftAsync(PrivateDockerDaemon daemon) =>
        Eventually.LastValueAsync(() => ContainersAsync(daemon), left => left.Count == 0, TimeSpan.FromSeconds(15));
}
