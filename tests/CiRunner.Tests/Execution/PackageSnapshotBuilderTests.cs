using System.Text.RegularExpressions;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Execution;

/// <summary>
/// Package snapshots on the real engine, with real volumes and Debian's mirror: small release images FROM the bookworm
/// base (a package or two on top), frozen, looked up, rebuilt and used by upgrade-node. Each test builds its own
/// release under a name and tag of its own and removes its images, volumes and containers at the end.
/// </summary>
[Collection(DockerImagesGroup.Name)]
[Trait("Category", "Docker")]
public sealed class PackageSnapshotBuilderTests : IAsyncLifetime, IDisposable
{
    private const string InstallHello = "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*\n";
    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _recipes = new();
    private readonly string _release = $"t{Guid.NewGuid():N}"[..13];
    private readonly string _tag = $"cirunner-test/snapshot:{Guid.NewGuid():N}";

    public PackageSnapshotBuilderTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    private IDockerClient Docker => _engine.Docker;

    [Fact]
    public async Task BuildAsync_ReleaseWithPackageSnapshot_FreezesItsImageOnceAndAgainWhenTheImageIsRebuilt()
    {
        // Given a release FROM the bookworm base that installs hello, with PackageSnapshot
        WriteRecipe(InstallHello);
        using ReleaseImages images = CreateReleaseImages();

        // When it is built, and built again unchanged
        ReleaseImagesBuild first = await images.BuildAsync(null, force: false, Progress(), CancellationToken.None);
        ReleaseImagesBuild again = await images.BuildAsync(null, force: false, Progress(), CancellationToken.None);

        // Then the snapshot was built once, into a volume labelled with the release, the image and the id
        Assert.True(first.Succeeded, string.Join('\n', first.Snapshots.Select(s => s.Error)));
        PackageSnapshotOutcome built = Assert.Single(first.Snapshots);
        Assert.Equal(PackageSnapshotStatus.Built, built.Status);
        PackageSnapshotInfo info = built.Snapshot!.Info;
        string imageId = first.Images[^1].ImageId!;
        VolumeResponse volume = await Docker.Volumes.InspectAsync(info.Volume);
        Assert.Equal("true", volume.Labels[ContainerLabels.Managed]);
        Assert.Equal("true", volume.Labels[ContainerLabels.Snapshot]);
        Assert.Equal(_release, volume.Labels[ContainerLabels.Release]);
        Assert.Equal(imageId, volume.Labels[ContainerLabels.ImageId]);
        Assert.Equal(info.Id, volume.Labels[ContainerLabels.SnapshotId]);
        Assert.Equal((_release, imageId), (info.Release, info.ImageId));
        _output.WriteLine($"snapshot: {info.PackageCount} packages, {built.Snapshot.SizeBytes / 1e6:F0} MB in {built.Duration.TotalSeconds:F1} s");

        // ... whose package list is what dpkg says the image has, and whose index has hello at the installed version
        string installed = await RunAsync(_tag, "dpkg-query -W -f '${binary:Package}=${Version}\\n' | LC_ALL=C sort");
        string helloVersion = (await RunAsync(_tag, "dpkg-query -W -f '${Version}' hello")).Trim();
        Assert.Equal(installed, await ReadAsync(info.Volume, "packages.list"));
        Assert.Equal(installed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, info.PackageCount);
        Assert.Matches(new Regex($"(?m)^Package: hello\\n(?:.+\\n)*?Version: {Regex.Escape(helloVersion)}\\n"), await ReadAsync(info.Volume, "Packages"));
        Assert.Equal(info.Id, PackageSnapshotRecipe.ComputeId(installed));

        // ... and the second build found it up to date: same id, same volume, and the lookup finds it
        PackageSnapshotOutcome upToDate = Assert.Single(again.Snapshots);
        Assert.Equal((PackageSnapshotStatus.UpToDate, info), (upToDate.Status, upToDate.Snapshot?.Info));
        Assert.Equal(info, await CreateSnapshots().FindAsync(new PackageSnapshotSource(_release, _tag), CancellationToken.None));

        // When the recipe changes (figlet too) and the release is built again
        WriteRecipe(InstallHello + "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends figlet && rm -rf /var/lib/apt/lists/*\n");
        ReleaseImagesBuild rebuilt = await images.BuildAsync(null, force: false, Progress(), CancellationToken.None);

        // Then the new image has a new snapshot, the old volume is gone, and the lookup finds the new one
        PackageSnapshotOutcome replaced = Assert.Single(rebuilt.Snapshots);
        Assert.True(replaced.Status == PackageSnapshotStatus.Built, replaced.Error);
        Assert.NotEqual(info.Id, replaced.Snapshot!.Info.Id);
        Assert.NotEqual(info.Volume, replaced.Snapshot.Info.Volume);
        Assert.Equal(rebuilt.Images[^1].ImageId, replaced.Snapshot.Info.ImageId);
        Assert.Equal([info.Volume], replaced.RemovedVolumes);
        Assert.Equal([replaced.Snapshot.Info.Volume], (await VolumesAsync()).Select(v => v.Name));
        Assert.Equal(replaced.Snapshot.Info, await CreateSnapshots().FindAsync(new PackageSnapshotSource(_release, _tag), CancellationToken.None));
        Assert.Empty(await ThrowawayContainersAsync());
    }

    [Fact]
    public async Task UpgradeNode_SnapshotMountedReadOnlyOnTheBaseImage_MovesTheNodeOntoTheSnapshotAlone()
    {
        // Given the package snapshot of a release FROM the bookworm base with hello
        WriteRecipe(InstallHello);
        using ReleaseImages images = CreateReleaseImages();
        ReleaseImagesBuild build = await images.BuildAsync(null, force: false, Progress(), CancellationToken.None);
        Assert.True(build.Succeeded, string.Join('\n', build.Snapshots.Select(s => s.Error)));
        string volume = build.Snapshots[0].Snapshot!.Info.Volume;

        // When a container of the bookworm base, offline, with the snapshot read-only at /cirunner/snapshot, runs
        // upgrade-node and then installs hello
        string output = await RunAsync(
            _engine.PuppetImage,
            $"/bin/sh {PackageSnapshotSource.UpgradeScript} && apt-cache policy && apt-get install -y --no-install-recommends hello && hello && ls /etc/apt/cirunner-disabled",
            new Mount { Type = "volume", Source = volume, Target = PackageSnapshotSource.MountPath, ReadOnly = true });

        // Then the upgrade succeeded with the snapshot as apt's only source, and hello came from it
        Assert.Contains("500 file:/cirunner/snapshot ./ Packages", output, StringComparison.Ordinal);
        Assert.DoesNotContain("deb.debian.org", output, StringComparison.Ordinal);
        Assert.Contains("Hello, world!", output, StringComparison.Ordinal);
        Assert.Contains("sources.list", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpgradeNode_SnapshotNotComplete_FailsSayingWhatBuildsIt()
    {
        // Given a snapshot volume whose build never finished (no completion marker)
        string volume = $"cirunner-test-snapshot-{Guid.NewGuid():N}";
        await Docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = volume, Labels = new Dictionary<string, string> { [ContainerLabels.Release] = _release } });
        await RunAsync(_engine.PuppetImage, $"echo {_release} > /s/release", new Mount { Type = "volume", Source = volume, Target = "/s" });

        // When upgrade-node (from the build's embedded script) runs against it
        ThrowawayResult result = await ThrowawayContainer.RunAsync(
            Docker,
            new ThrowawayRun(_engine.PuppetImage, ["/bin/sh", "/cirunner-test/upgrade-node"], "test")
            {
                Files = [("/cirunner-test/upgrade-node", PackageSnapshotRecipe.UpgradeScript)],
                Mounts = [new Mount { Type = "volume", Source = volume, Target = PackageSnapshotSource.MountPath, ReadOnly = true }],
                Labels = new Dictionary<string, string> { [ContainerLabels.Release] = _release },
            },
            TimeProvider.System,
            null,
            CancellationToken.None);

        // Then it fails before touching apt, naming the command that builds the snapshot
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"cirunner: the package snapshot in /cirunner/snapshot is not complete (its build did not finish, or no snapshot is mounted there); build it with: cirunner images build --release {_release}",
            Assert.Single(result.StandardErrorLines));
    }

    [Fact]
    public async Task FindAsync_OnlyAnUnfinishedSnapshotOfTheImage_FindsNone()
    {
        // Given a snapshot volume labelled for the current image, without the completion marker its build writes last
        WriteRecipe("RUN echo unfinished > /unfinished\n");
        using ReleaseImages images = CreateReleaseImages(packageSnapshot: false);
        ReleaseImagesBuild build = await images.BuildAsync(null, force: false, Progress(), CancellationToken.None);
        string imageId = build.Images[^1].ImageId!;
        await Docker.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = $"cirunner-snapshot-{_release}-unfinished",
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
                [ContainerLabels.Snapshot] = ContainerLabels.ManagedValue,
                [ContainerLabels.Release] = _release,
                [ContainerLabels.Image] = _tag,
                [ContainerLabels.ImageId] = imageId,
                [ContainerLabels.SnapshotId] = "sha256:unfinished",
            },
        });

        // When the executor's lookup asks for the release's snapshot
        PackageSnapshotInfo? found = await CreateSnapshots().FindAsync(new PackageSnapshotSource(_release, _tag), CancellationToken.None);

        // Then there is none, and the check's container is gone
        Assert.Null(found);
        Assert.Empty(await ThrowawayContainersAsync());
    }

    [Fact]
    public async Task BuildAsync_AVersionTheMirrorDoesNotHave_FailsInOneLineSayingToRebuildTheImage()
    {
        // Given a release image with a package no mirror has (built locally), as a stale image has versions the mirror dropped
        WriteRecipe("""
            RUN mkdir -p /tmp/pkg/DEBIAN \
             && printf 'Package: cirunner-local-test\nVersion: 1.0\nArchitecture: all\nMaintainer: CiRunner tests <tests@example.invalid>\nDescription: on no mirror\n' > /tmp/pkg/DEBIAN/control \
             && dpkg-deb --build /tmp/pkg /tmp/local.deb && dpkg -i /tmp/local.deb && rm -rf /tmp/pkg /tmp/local.deb

            """);
        using ReleaseImages images = CreateReleaseImages();

        // When its snapshot is built
        ReleaseImagesBuild build = await images.BuildAsync(null, force: false, Progress(), CancellationToken.None);

        // Then it fails with one line naming the package and the command that rebuilds the image, and leaves nothing
        PackageSnapshotOutcome outcome = Assert.Single(build.Snapshots);
        Assert.Equal(PackageSnapshotStatus.Failed, outcome.Status);
        Assert.DoesNotContain('\n', outcome.Error!);
        Assert.Contains("(cirunner-local-test:amd64=1.0)", outcome.Error, StringComparison.Ordinal);
        Assert.EndsWith($"rebuild the image so it installs what the mirror has now: cirunner images build --release {_release} --force", outcome.Error, StringComparison.Ordinal);
        Assert.Empty(await VolumesAsync());
        Assert.Empty(await ThrowawayContainersAsync());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Removes what the test made, even when it failed: containers, volumes and images of its release and tag only.</summary>
    public async Task DisposeAsync()
    {
        foreach (ContainerListResponse container in await ThrowawayContainersAsync())
        {
            await Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }

        VolumesListResponse volumes = await Docker.Volumes.ListAsync(new VolumesListParameters());
        foreach (VolumeResponse volume in volumes.Volumes.Where(v => v.Labels is not null && v.Labels.TryGetValue(ContainerLabels.Release, out string? release) && release == _release))
        {
            await Docker.Volumes.RemoveAsync(volume.Name, force: true);
        }

        try
        {
            await Docker.Images.DeleteImageAsync(_tag, new ImageDeleteParameters { Force = true });
        }
        catch (DockerImageNotFoundException)
        {
            // Never built, or the test's build failed.
        }
    }

    public void Dispose() => _recipes.Dispose();

    private void WriteRecipe(string steps) => _recipes.Write($"{_release}/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" + steps);

    private ReleaseImages CreateReleaseImages(bool packageSnapshot = true) => new(
        [new ReleaseOptions { Name = _release, Image = _tag, Suite = "bookworm", PackageSnapshot = packageSnapshot }],
        _recipes.Path,
        new ImageBuilder(Docker, TimeProvider.System, new TestOutputLogger<ImageBuilder>(_output)),
        new BaseImageBuilder(Docker, TimeProvider.System, new TestOutputLogger<BaseImageBuilder>(_output)),
        BaseImageRecipe.ForSuite,
        new Dictionary<string, string>(),
        new PackageSnapshotBuilder(Docker, CreateSnapshots(), TimeProvider.System, new TestOutputLogger<PackageSnapshotBuilder>(_output)));

    private DockerPackageSnapshots CreateSnapshots() => new(Docker, TimeProvider.System, new TestOutputLogger<DockerPackageSnapshots>(_output));

    private SynchronousProgress<string> Progress() => new(line => _output.WriteLine($"  | {line}"));

    /// <summary>Standard output of a shell command in a container of <paramref name="image"/> (network none); fails the test on a non-zero exit.</summary>
    private async Task<string> RunAsync(string image, string command, params Mount[] mounts)
    {
        ThrowawayResult result = await ThrowawayContainer.RunAsync(
            Docker,
            new ThrowawayRun(image, ["/bin/sh", "-c", command], "test")
            {
                Mounts = mounts,
                Labels = new Dictionary<string, string> { [ContainerLabels.Release] = _release },
                Timeout = TimeSpan.FromMinutes(5),
                CaptureStandardOutput = true,
            },
            TimeProvider.System,
            null,
            CancellationToken.None);
        _output.WriteLine(result.StandardOutput);
        Assert.True(result.ExitCode == 0, $"`{command}` exited {result.ExitCode}: {string.Join('\n', result.StandardErrorLines)}");
        return result.StandardOutput;
    }

    private Task<string> ReadAsync(string volume, string file) =>
        RunAsync(_engine.PuppetImage, $"cat /s/{file}", new Mount { Type = "volume", Source = volume, Target = "/s", ReadOnly = true });

    private async Task<IList<VolumeResponse>> VolumesAsync() => await CreateSnapshots().ListAsync(_release, imageId: null, CancellationToken.None);

    private async Task<IList<ContainerListResponse>> ThrowawayContainersAsync() =>
        await Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Release}={_release}"] = true, [ContainerLabels.Throwaway] = true },
            },
        });
}
