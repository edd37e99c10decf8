using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class DockerServiceGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-service";
}

/// <summary>
/// The service's own path from a trigger to stored results, on the real engine: RunLauncher queues, the dispatcher
/// runs the jobs in containers, the store keeps results, steps, lockfiles and logs.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class ServicePipelineTests : IDisposable
{
    private const string DemoModule = """
        class demo {
          file { '/etc/demo.conf':
            ensure  => file,
            content => "converged ${facts['demo_fact']}",
          }
        }
        """;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly string _commit;

    public ServicePipelineTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("remotes", "puppet-demo");
        _commit = GitRepositories.Create(_repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = DemoModule,
            ["facts.d/demo.txt"] = "demo_fact=from-facts-d\n",
        });
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Trigger_PassingAndFailingScenarios_EndStoredWithStepsLockfileAndLogs()
    {
        CiRunnerSettings settings = WriteSettings();
        await using WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        try
        {
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", _commit, RequestedBy: "test"), CancellationToken.None);

            RunRecord finished = await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id);
            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            JobDetail converges = (await jobs.GetDetailAsync(run.Jobs.Single(j => j.Scenario == "converges").Id, CancellationToken.None))!;
            JobDetail fails = (await jobs.GetDetailAsync(run.Jobs.Single(j => j.Scenario == "fails").Id, CancellationToken.None))!;

            Assert.Equal(JobResult.Failure, finished.Result);
            Assert.Equal(JobResult.Success, converges.Job.Result);
            Assert.Equal(["apply", "idempotency", "conf written"], converges.Steps.Select(s => s.Name));
            Assert.All(converges.Steps, step => Assert.Equal(JobResult.Success, step.Result));
            Assert.Equal(_engine.PuppetImageId, converges.Job.ImageId);
            JobModuleRecord locked = Assert.Single(converges.Modules);
            Assert.Equal(("demo", _commit), (locked.Module, locked.CommitSha));
            Assert.Contains("Notice: /Stage[main]/Demo/File[/etc/demo.conf]/ensure: defined content", await File.ReadAllTextAsync(converges.Job.LogPath!), StringComparison.Ordinal);

            Assert.Equal(JobResult.Failure, fails.Job.Result);
            Assert.Contains("apply", fails.Job.Summary, StringComparison.Ordinal);
            Assert.Contains("Could not find class ::nosuchclass", await File.ReadAllTextAsync(fails.Job.LogPath!), StringComparison.Ordinal);
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Replay_FailedJobThroughTheService_RunsItFromItsLockfileAndLeavesTheCellsVerdict()
    {
        CiRunnerSettings settings = WriteSettings();
        await using WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        try
        {
            // Given a run whose fails cell failed, and a scenarios directory where that scenario now passes
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", _commit, RequestedBy: "test"), CancellationToken.None);
            RunStore runs = app.Services.GetRequiredService<RunStore>();
            await RunWaits.ForRunAsync(runs, run.Run.Id);
            long failed = run.Jobs.Single(j => j.Scenario == "fails").Id;
            _folder.Write("scenarios/fails.pp", "include demo\n");

            // When the dispatcher runs its replay
            ReplayOutcome replay = await app.Services.GetRequiredService<ReplayTrigger>().StartAsync(failed, "test", CancellationToken.None);
            RunRecord finished = await RunWaits.ForRunAsync(runs, replay.Run!.Run.Id);

            // Then it failed as the original did (the stored manifest, not today's), and the cell still shows the original
            JobRecord replayed = (await app.Services.GetRequiredService<JobStore>().GetAsync(replay.Run.Jobs[0].Id, CancellationToken.None))!;
            Assert.Equal((RunCause.Replay, JobResult.Failure), (finished.Cause, replayed.Result));
            Assert.Equal((long?)failed, replayed.ReplayOf);
            Assert.Contains("Could not find class ::nosuchclass", await File.ReadAllTextAsync(replayed.LogPath!), StringComparison.Ordinal);
            CellResultRecord cell = (await app.Services.GetRequiredService<CellResultStore>().ListAsync("demo", "master", CancellationToken.None)).Single(c => c.CellKey == "zed/fails");
            Assert.Equal(failed, cell.JobId);
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Start_AfterACrash_ReapsContainersMarksRunningJobsInterruptedRetriesThemAndRunsQueuedJobs()
    {
        CiRunnerSettings settings = WriteSettings();
        // What a killed process leaves: a run whose first job was running (with its container) and second still queued.
        ResultsStore store = ResultsStore.Open(settings.DataPaths.DatabaseFile);
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "demo", "master", _commit),
            [new NewJob("zed/converges", JobKind.Deploy, "zed", null, "converges"), new NewJob("zed/fails", JobKind.Deploy, "zed", null, "converges")],
            CancellationToken.None);
        long crashed = run.Jobs[0].Id;
        long waiting = run.Jobs[1].Id;
        Assert.True(await store.Jobs.MarkStartedAsync(crashed, null, null, CancellationToken.None));
        CreateContainerResponse orphan = await _engine.Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = _engine.PuppetImage,
            Cmd = ["sleep", "600"],
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
                [ContainerLabels.Instance] = _instanceId,
                [ContainerLabels.Run] = run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [ContainerLabels.Job] = crashed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        await _engine.Docker.Containers.StartContainerAsync(orphan.ID, new ContainerStartParameters());

        await using WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        try
        {
            RunRecord finished = await RunWaits.ForRunAsync(store.Runs, run.Run.Id);

            JobRecord interrupted = (await store.Jobs.GetAsync(crashed, CancellationToken.None))!;
            JobRecord ran = (await store.Jobs.GetAsync(waiting, CancellationToken.None))!;
            RunDetail detail = (await store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!;
            JobRecord retry = Assert.Single(detail.Jobs, j => j.RetryOf == crashed);
            Assert.Equal(JobResult.Interrupted, interrupted.Result);
            Assert.Contains("service stopped", interrupted.Summary, StringComparison.Ordinal);
            Assert.Contains($"Retried as job {retry.Id} (attempt 2 of 3)", interrupted.Summary, StringComparison.Ordinal);
            Assert.Equal(("zed/converges", 2, JobResult.Success), (retry.CellKey, retry.Attempt, retry.Result));
            Assert.Equal(JobResult.Success, ran.Result);
            Assert.Equal(JobResult.Success, finished.Result);
            Assert.Equal([waiting, retry.Id], detail.LatestAttempts().Select(j => j.Id).Order());
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Dispatcher_OneParallelJob_RunsJobsOneAtATimeInQueueOrder()
    {
        for (int i = 1; i <= 3; i++)
        {
            _folder.Write($"scenarios/slow{i}.yaml", $"name: slow{i}\nmanifest: converges.pp\nmodules: [demo]\nsteps:\n  - type: command\n    command: [sleep, '1']\n");
        }

        CiRunnerSettings settings = WriteSettings(parallelJobs: 1);
        await using WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        try
        {
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Commit, "demo", "master", _commit), CancellationToken.None);
            await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id);

            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            var ran = new List<JobRecord>();
            foreach (JobRecord job in run.Jobs)
            {
                ran.Add((await jobs.GetAsync(job.Id, CancellationToken.None))!);
            }

            List<JobRecord> byStart = ran.OrderBy(job => job.StartedAt).ToList();
            Assert.Equal(run.Jobs.Select(job => job.Id), byStart.Select(job => job.Id));
            for (int i = 1; i < byStart.Count; i++)
            {
                Assert.True(byStart[i].StartedAt >= byStart[i - 1].FinishedAt, $"job {byStart[i].Id} started before job {byStart[i - 1].Id} ended");
            }
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private CiRunnerSettings WriteSettings(int parallelJobs = 2)
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/converges.pp", "include demo\n");
        _folder.Write("scenarios/converges.yaml", """
            name: converges
            manifest: converges.pp
            modules: [demo]
            steps:
              - apply
              - idempotency
              - type: command
                name: conf written
                command: [grep, -qx, converged from-facts-d, /etc/demo.conf]
            """);
        _folder.Write("scenarios/fails.pp", "include nosuchclass\n");
        _folder.Write("scenarios/fails.yaml", """
            name: fails
            manifest: fails.pp
            modules: [demo]
            """);
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master") }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = parallelJobs, ["MemoryMb"] = 512 },

            // These pipelines count jobs and replay failed ones; the flake re-run has its own tests (FlakeLedgerTests).
            ["Flakes"] = new JsonObject { ["Reruns"] = 0 },
            ["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{FreePort.Next()}" },
        };
        string configFile = _folder.Write("appsettings.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return loaded.Settings!;
    }
}
