using System.Diagnostics;
using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using Docker.DotNet;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// Real OpenStack, once for all the tests that read it: the demo's module repositories of Debian 12's and Debian 13's
/// puppet-openstack modules (deploy/demo/make-demo-modules.sh), the release images zed and 2024.2 and 2024.2's package
/// snapshot (built once per machine, reused while their recipes' hashes match), and the real service running, two at a
/// time, the cells the tests assert on: keystone-glance's deploy cell on zed and its upgrade cell zed -> 2024.2, and
/// keystone-db's deploy cell on zed (the known idempotency finding). Tens of minutes on two cores; the tests only read.
/// </summary>
public sealed class RealOpenStackFixture : IAsyncLifetime, IDisposable
{
    /// <summary>Upper bound for the cells (an upgrade cell takes about a quarter of an hour on two idle cores).</summary>
    private static readonly TimeSpan RunsBound = TimeSpan.FromMinutes(80);

    private readonly TempDirectory _folder = new();

    public string InstanceId { get; } = DockerEngineFixture.NewInstanceId();

    public IDockerClient Docker { get; private set; } = null!;

    public CiRunnerSettings Settings { get; private set; } = null!;

    /// <summary>keystone-glance on zed.</summary>
    public JobDetail Deploy { get; private set; } = null!;

    /// <summary>keystone-glance, zed -> 2024.2.</summary>
    public JobDetail Upgrade { get; private set; } = null!;

    /// <summary>keystone-db on zed.</summary>
    public JobDetail KeystoneDb { get; private set; } = null!;

    /// <summary>The containers of this fixture's instance that were still there once every cell had ended.</summary>
    public int ContainersLeft { get; private set; }

    public ReleaseImagesBuild Images { get; private set; } = new([], []);

    public string LogOf(JobDetail job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return File.ReadAllText(Settings.DataPaths.JobLogFile(job.Job.RunId, job.Job.Id));
    }

    public async Task InitializeAsync()
    {
        Docker = new DockerClientBuilder().WithEndpoint(new Uri(DockerEngineFixture.EngineEndpoint)).Build();
        string demo = _folder.Combine("demo");
        await RunScriptAsync("deploy/demo/make-demo-modules.sh", demo);
        await RunScriptAsync("deploy/demo/write-demo-config.sh", demo);
        string configFile = Path.Combine(demo, "appsettings.json");
        ShapeConfiguration(configFile);
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        if (!loaded.Succeeded)
        {
            throw new InvalidOperationException("The real OpenStack configuration does not load:\n" + string.Join('\n', loaded.Errors));
        }

        Settings = loaded.Settings!;
        await using WebApplication app = ServiceHost.Build(Settings, ConfigurationLoader.BuildConfiguration(configFile));

        // The images the service would build for its first jobs, built first, as `cirunner images build` does; the
        // bookworm base they start FROM is the Docker tests' Puppet image, built once for both.
        await DockerEngineFixture.PuppetImageAsync(Docker);
        var images = (ReleaseImages)app.Services.GetRequiredService<IImageProvisioner>();
        Images = await images.BuildAsync(release: null, force: false, output: null, CancellationToken.None);
        if (Images.Images.FirstOrDefault(i => !i.Succeeded) is { } failed)
        {
            throw new InvalidOperationException($"Building {failed.Tag} failed: {failed.Error}\n{string.Join('\n', failed.OutputTail)}");
        }

        if (!Images.Succeeded)
        {
            throw new InvalidOperationException("Building a package snapshot failed: " + string.Join('\n', Images.Snapshots.Where(o => !o.Succeeded)));
        }

        await app.StartAsync();
        try
        {
            RunLauncher launcher = app.Services.GetRequiredService<RunLauncher>();
            RunDetail zed = await launcher.StartAsync(new RunTrigger(RunCause.Manual, "keystone", "unmaintained/zed", Head(demo, "unmaintained/zed"), RequestedBy: "test"), CancellationToken.None);
            RunDetail upgrade = await launcher.StartAsync(new RunTrigger(RunCause.Manual, "keystone", "stable/2024.2", Head(demo, "stable/2024.2"), RequestedBy: "test"), CancellationToken.None);
            RunStore runs = app.Services.GetRequiredService<RunStore>();
            await RunWaits.ForRunAsync(runs, zed.Run.Id, RunsBound);
            await RunWaits.ForRunAsync(runs, upgrade.Run.Id, RunsBound);

            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            Deploy = await DetailAsync(runs, jobs, zed.Run.Id, "zed/keystone-glance");
            KeystoneDb = await DetailAsync(runs, jobs, zed.Run.Id, "zed/keystone-db");
            Upgrade = await DetailAsync(runs, jobs, upgrade.Run.Id, "zed->2024.2/keystone-glance:upgrade");
        }
        finally
        {
            await app.StopAsync();
        }

        ContainersLeft = await CountContainersLeftAsync();
    }

    public async Task DisposeAsync()
    {
        // Whatever a failed start left behind goes too.
        foreach (Docker.DotNet.Models.ContainerListResponse container in await ContainersOfInstanceAsync())
        {
            try
            {
                await Docker.Containers.RemoveContainerAsync(container.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
            }
            catch (Docker.DotNet.DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.Conflict or System.Net.HttpStatusCode.NotFound)
            {
                // The engine is removing it already, or has.
            }
        }

        Docker.Dispose();
        Dispose();
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>The demo's configuration, narrowed to the cells the tests read, with this fixture's instance and a free port.</summary>
    private void ShapeConfiguration(string configFile)
    {
        JsonObject config = JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        config["Service"]![nameof(ServiceOptions.InstanceId)] = InstanceId;
        config["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{FreePort.Next()}" };
        config["Reporting"] = new JsonObject { ["JUnit"] = true };

        // Every phase of these cells runs for real: the tests read each phase's Tempest results and timings, and the
        // two runs go side by side, so a snapshot of the deploy cell would only cost its commit.
        config["Snapshots"] = new JsonObject { ["Enabled"] = false };
        config["Matrix"] = new JsonObject
        {
            ["Exclude"] = new JsonArray(
                new JsonObject { ["Scenario"] = "*-noop" },
                new JsonObject { ["Kind"] = "deploy", ["Release"] = "2024.2" },
                new JsonObject { ["Kind"] = "rollback" }),
        };
        File.WriteAllText(configFile, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    private static string Head(string demo, string branch)
    {
        using var repository = new LibGit2Sharp.Repository(Path.Combine(demo, "remotes", "puppet-keystone.git"));
        return repository.Branches[branch].Tip.Sha;
    }

    private static async Task<JobDetail> DetailAsync(RunStore runs, JobStore jobs, long runId, string cellKey)
    {
        // The latest attempt of the cell is what the run's result reads.
        RunDetail run = (await runs.GetDetailAsync(runId, CancellationToken.None))!;
        JobRecord job = run.Jobs.Where(j => j.CellKey == cellKey).OrderBy(j => j.Attempt).LastOrDefault()
            ?? throw new InvalidOperationException($"Run {runId} has no cell {cellKey}; it has {string.Join(", ", run.Jobs.Select(j => j.CellKey))}");
        return (await jobs.GetDetailAsync(job.Id, CancellationToken.None))!;
    }

    private async Task<IList<Docker.DotNet.Models.ContainerListResponse>> ContainersOfInstanceAsync()
    {
        var parameters = new Docker.DotNet.Models.ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Instance}={InstanceId}"] = true },
            },
        };
        return await Docker.Containers.ListContainersAsync(parameters);
    }

    private Task<int> CountContainersLeftAsync() =>
        // A real node's writable layer holds gigabytes after an upgrade: the engine's removal of it can take a minute on a busy disk.
        Eventually.LastValueAsync(async () => (await ContainersOfInstanceAsync()).Count, left => left == 0, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(500));

    /// <summary>Runs one of the demo's scripts as a user would, failing with its output when it fails.</summary>
    private static async Task RunScriptAsync(string script, string argument)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, script));
        start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} {argument} exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}

/// <summary>The real OpenStack cells; one collection, so the cells run once.</summary>
[CollectionDefinition(Name)]
public sealed class RealOpenStackGroup : ICollectionFixture<RealOpenStackFixture>
{
    public const string Name = "real-openstack";
}
