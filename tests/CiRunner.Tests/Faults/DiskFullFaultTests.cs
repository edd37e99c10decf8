using System.CommandLine;
using System.Net;
using System.Text.Json;
using CiRunner.Cli;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Faults;

/// <summary>
/// The service's data directory (database, mirrors, job logs) on a real 64 MiB tmpfs that the test fills: new jobs
/// are held with a visible reason and start once space is freed; a job that fills the disk itself ends as an error
/// that says so.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerResilienceGroup.Name)]
public sealed class DiskFullFaultTests : IAsyncLifetime
{
    private readonly DockerEngineFixture _engine;
    private readonly ServiceUnderTest _service;

    public DiskFullFaultTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _service = new ServiceUnderTest(engine, output);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task DiskNearlyFull_NewJobStaysQueuedWithTheReasonEverywhere_StartsAndPassesWhenSpaceIsFreed()
    {
        await using TmpfsMount disk = await TmpfsMount.MountAsync(sizeMb: 64);
        try
        {
            _service.Configuration.Set("Service:DataDirectory", disk.Path).Set("Service:MinFreeDiskMb", 32);
            await _service.StartAsync();
            using HttpClient client = _service.Client();
            string filler = disk.Fill(leaveFreeMb: 16);

            using HttpResponseMessage created = await ServiceUnderTest.TriggerAsync(client);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            long runId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("runId").GetInt64();
            await _service.Logs.WaitForAsync("jobs held for the disk", l => l.Category == typeof(DiskSpaceGuard).FullName && l.Level == LogLevel.Warning);

            JsonElement queue = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/queue", UriKind.Relative))).RootElement;
            string queuePage = await client.GetStringAsync(new Uri("/queue", UriKind.Relative));
            using HttpResponseMessage health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
            JsonElement healthBody = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            var status = new StringWriter();
            int statusExit = await CliApplication.Build().Parse(["status", "--config", _service.Settings.ConfigFile])
                .InvokeAsync(new InvocationConfiguration { Output = status, Error = status }, CancellationToken.None);
            JobRecord held = (await _service.Get<JobStore>().GetAsync(Assert.Single((await _service.Get<RunStore>().GetDetailAsync(runId, CancellationToken.None))!.Jobs).Id, CancellationToken.None))!;

            string reason = $"less than Service:MinFreeDiskMb (32 MiB)";
            Assert.Equal(JobState.Queued, held.State);
            JsonElement entry = Assert.Single(queue.EnumerateArray());
            Assert.Equal(held.Id, entry.GetProperty("jobId").GetInt64());
            Assert.Contains(reason, entry.GetProperty("waiting").GetString(), StringComparison.Ordinal);
            Assert.Contains(disk.Path, entry.GetProperty("waiting").GetString(), StringComparison.Ordinal);
            Assert.Contains("Queued jobs are held: ", queuePage, StringComparison.Ordinal);
            Assert.Contains(reason, queuePage, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal("degraded", healthBody.GetProperty("status").GetString());
            Assert.StartsWith("held: disk nearly full", healthBody.GetProperty("disk").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, statusExit);
            Assert.Contains("Disk: NEW JOBS ARE HELD", status.ToString(), StringComparison.Ordinal);
            Assert.Contains(reason, status.ToString(), StringComparison.Ordinal);

            File.Delete(filler);
            RunRecord run = await _service.WaitForRunAsync(runId);
            using HttpResponseMessage healthAfter = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

            Assert.Equal(JobResult.Success, run.Result);
            Assert.Equal(HttpStatusCode.OK, healthAfter.StatusCode);
            Assert.Single(_service.Logs.Entries, l => l.Category == typeof(DiskSpaceGuard).FullName && l.Level == LogLevel.Warning);
            Assert.Contains(_service.Logs.Entries, l => l.Category == typeof(DiskSpaceGuard).FullName && l.Message.StartsWith("Jobs start again", StringComparison.Ordinal));
            Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
        }
        finally
        {
            // The service holds files on the disk; it stops before the disk is unmounted.
            await _service.StopAsync();
        }
    }

    [Fact]
    public async Task DiskFillsUpDuringAJob_TheJobEndsAsAnErrorThatSaysSo_TheServiceCarriesOn()
    {
        await using TmpfsMount disk = await TmpfsMount.MountAsync(sizeMb: 64);
        try
        {
            _service.Configuration.Set("Service:DataDirectory", disk.Path).Set("Service:MinFreeDiskMb", 4);

            // One job at a time: the flood job fills the disk, and the quick one waits (held) until the test frees it.
            _service.Configuration.Set("Docker:ParallelJobs", 1);

            // About 20 MB of output (1000-character lines) into the job log, with 10 MiB left.
            _service.Folder.Write("scenarios/flood.yaml", """
                name: flood
                manifest: quick.pp
                modules: [demo]
                steps:
                  - type: command
                    name: flood
                    command: [sh, -c, "head -c 20000000 /dev/zero | tr '\\0' x | fold -w 1000"]

                """);
            await _service.StartAsync();
            using HttpClient client = _service.Client();
            string filler = disk.Fill(leaveFreeMb: 10);

            using HttpResponseMessage created = await ServiceUnderTest.TriggerAsync(client);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            long runId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("runId").GetInt64();
            await _service.Logs.WaitForAsync("the flood job to end", l => l.Category == typeof(DockerJobExecutor).FullName && l.Message.Contains("finished: Error", StringComparison.Ordinal));
            File.Delete(filler);
            RunRecord run = await _service.WaitForRunAsync(runId);
            RunDetail detail = (await _service.Get<RunStore>().GetDetailAsync(runId, CancellationToken.None))!;

            JobRecord flood = Assert.Single(detail.Jobs, j => j.Scenario == "flood");
            Assert.Equal(JobResult.Error, flood.Result);
            Assert.Contains("the disk is full (no space left on device)", flood.Summary, StringComparison.Ordinal);
            Assert.Contains("Service:MinFreeDiskMb", flood.Summary, StringComparison.Ordinal);
            Assert.Equal(JobResult.Success, Assert.Single(detail.Jobs, j => j.Scenario == "quick").Result);
            Assert.Equal(JobResult.Error, run.Result);
            using HttpResponseMessage health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
        }
        finally
        {
            // The service holds files on the disk; it stops before the disk is unmounted.
            await _service.StopAsync();
        }
    }
}
