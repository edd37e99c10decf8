using System.CommandLine;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

/// <summary>
/// Phase snapshot images on the real engine: committed from running containers, pruned least recently used first
/// within a size cap (using a snapshot counts as using it), by retention when unused since its cutoff, and all removed
/// by <c>cirunner images prune</c>; a job's plan marks as used only the snapshot it starts from.
/// </summary>
[Collection(DockerPuppetGroup.Name)]
[Trait("Category", "Docker")]
public sealed class PhaseSnapshotImagesTests : IDisposable
{
    private const long Megabyte = 1_000_000;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instance = DockerEngineFixture.NewInstanceId();

    public PhaseSnapshotImagesTests(DockerEngineFixture engine)
    {
        _engine = engine;
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task PruneAsync_OverTheCap_RemovesTheLeastRecentlyUsedFirst_AndImagesPruneRemovesTheRest()
    {
        var images = new PhaseSnapshotImages(_engine.Docker);
        try
        {
            // Three snapshots of 2 MB each, made one after the other; then the first is used again.
            string first = await MakeAsync(images, "first");
            string second = await MakeAsync(images, "second");
            string third = await MakeAsync(images, "third");
            DateTimeOffset beforeUse = TimeProvider.System.GetUtcNow();
            await Task.Delay(TimeSpan.FromSeconds(1.1));
            PhaseSnapshot found = await images.UseAsync((await images.ByKeyAsync(_instance, CancellationToken.None))["first"], CancellationToken.None);
            Assert.Equal((first, PhaseSnapshot.Used, 7L), (found.ImageId, found.Role, found.SourceJobId));
            Assert.All((await images.SizedAsync(_instance, CancellationToken.None)).Select(s => s.Size), size => Assert.InRange(size, 2 * Megabyte, 3 * Megabyte));

            // A 5 MB cap with the third just made: the second, least recently used, goes; the first was used after it.
            IReadOnlyList<string> pruned = await images.PruneAsync(_instance, 5 * Megabyte, keep: third, CancellationToken.None);

            Assert.Equal([second], pruned);
            Assert.Equal(new[] { first, third }.Order(), (await _engine.PhaseSnapshotsOfInstanceAsync(_instance)).Order());

            // Retention removes what was not used since its cutoff: the third, made before; the first was used after.
            Assert.Equal([third], await images.RemoveUnusedSinceAsync(_instance, beforeUse, CancellationToken.None));

            // `cirunner images prune` removes the instance's snapshots from its engine, and says so.
            string config = _folder.Write("appsettings.json", $$"""{ "Service": { "InstanceId": "{{_instance}}" }, "Docker": { "Endpoint": "{{DockerEngineFixture.EngineEndpoint}}" } }""");
            using var output = new StringWriter();
            using var error = new StringWriter();
            int exitCode = await CliApplication.InvokeAsync(["images", "prune", "--config", config], new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);

            Assert.True(exitCode == 0, error.ToString());
            Assert.StartsWith($"engine default: removed 1 phase snapshot(s) of instance '{_instance}', 0.0", output.ToString(), StringComparison.Ordinal);
            Assert.Empty(await _engine.PhaseSnapshotsOfInstanceAsync(_instance));
        }
        finally
        {
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(_instance);
        }
    }

    [Fact]
    public async Task PlanAsync_BothPhasesOfAnUpgradeJobSaved_StartsFromTheDeploySnapshot_AndMarksOnlyItAsUsed()
    {
        // Given an upgrade job (deploy, then upgrade) whose two phases an earlier run saved, as a rollback cell's upgrade cell does.
        JobSpec job = TestJobs.Job(_instance, _engine.PuppetImage, _folder, phases: [Phase("deploy", "aaa"), Phase("upgrade", "bbb")])
            with { Snapshots = new PhaseSnapshotPolicy(Reuse: true, Save: [0, 1]) };
        const string BaseImageId = "sha256:base";
        var images = new PhaseSnapshotImages(_engine.Docker);
        try
        {
            string deploy = await MakeAsync(images, PhaseSnapshotKey.Compute(job, 0, BaseImageId, null)!, "deploy");
            string upgrade = await MakeAsync(images, PhaseSnapshotKey.Compute(job, 1, BaseImageId, null)!, "upgrade");
            DateTime deployTagged = await LastTagTimeAsync(deploy);
            DateTime upgradeTagged = await LastTagTimeAsync(upgrade);

            // When its plan is made.
            var run = new JobRun(job, new ManagedContainer(_engine.Docker, TimeProvider.System, TimeSpan.FromSeconds(30)), TimeProvider.System.GetUtcNow(), 0);
            var snapshotter = new PhaseSnapshotter(images, new SnapshotOptions(), NullLogger.Instance);
            PhaseSnapshotPlan plan = await snapshotter.PlanAsync(run, _ => Task.FromResult(BaseImageId), CancellationToken.None);

            // Then it starts from the deeper snapshot before its last phase (deploy), saves nothing (upgrade is saved
            // already), and only the snapshot it starts from counts as used: the upgrade snapshot's last use stays.
            Assert.Equal((1, deploy, PhaseSnapshot.Used), (plan.StartPhase, plan.From?.ImageId, plan.From?.Role));
            Assert.Empty(plan.Save);
            Assert.True(await LastTagTimeAsync(deploy) > deployTagged, "the snapshot started from is marked as used");
            Assert.Equal(upgradeTagged, await LastTagTimeAsync(upgrade));
        }
        finally
        {
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(_instance);
        }
    }

    private async Task<DateTime> LastTagTimeAsync(string imageId) =>
        (await _engine.Docker.Images.InspectImageAsync(imageId)).Metadata?.LastTagTime ?? default;

    private JobPhase Phase(string name, string commit)
    {
        string manifest = _folder.Combine("site.pp");
        if (!File.Exists(manifest))
        {
            File.WriteAllText(manifest, "include demo\n");
        }

        return TestJobs.Phase(name, "site.pp", [new GitModuleSource("demo", _folder.Combine("repo"), commit)], [new ScenarioFile("site.pp", manifest)], TestJobs.Apply());
    }

    /// <summary>Commits a container that wrote 2 MB as the snapshot of <paramref name="phase"/> with key <paramref name="key"/>; its image id.</summary>
    private async Task<string> MakeAsync(PhaseSnapshotImages images, string key, string phase = "deploy")
    {
        CreateContainerResponse container = await _engine.Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = _engine.PuppetImage,
            Entrypoint = ["/bin/sh", "-c", "head -c 2000000 /dev/urandom > /snapshot-payload && exec sleep infinity"],
            Labels = new Dictionary<string, string> { [ContainerLabels.Instance] = _instance },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        try
        {
            await _engine.Docker.Containers.StartContainerAsync(container.ID, new ContainerStartParameters());
            await Eventually.TrueAsync("the payload written", async () => await PayloadWrittenAsync(container.ID), TimeSpan.FromSeconds(30));
            JobSpec job = TestJobs.Job(_instance, _engine.PuppetImage, _folder) with { RunId = 3, JobId = 7 };
            PhaseSnapshot made = await images.CommitAsync(container.ID, job, phase, key, "sha256:base", CancellationToken.None);
            Assert.Equal((PhaseSnapshot.Made, phase, key, 3L, 7L), (made.Role, made.Phase, made.Key, made.SourceRunId, made.SourceJobId));
            await Task.Delay(TimeSpan.FromSeconds(1.1));
            return made.ImageId;
        }
        finally
        {
            await _engine.Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }
    }

    private async Task<bool> PayloadWrittenAsync(string containerId)
    {
        ContainerExecCreateResponse exec = await _engine.Docker.Exec.CreateContainerExecAsync(
            containerId, new ContainerExecCreateParameters { Cmd = ["sh", "-c", "test $(wc -c < /snapshot-payload) -eq 2000000"] });
        using Docker.DotNet.MultiplexedStream stream = await _engine.Docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters());
        await stream.ReadOutputToEndAsync(CancellationToken.None);
        return (await _engine.Docker.Exec.InspectContainerExecAsync(exec.ID)).ExitCode == 0;
    }
}
