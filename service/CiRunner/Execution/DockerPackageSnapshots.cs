using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>A complete package snapshot as found on the engine: what jobs record, and what people are shown.</summary>
/// <param name="Info">Release, volume, id, image id and package count.</param>
/// <param name="SizeBytes">The volume's size when the build finished.</param>
/// <param name="RecipeHash">The snapshot builder's hash it was built with (<see cref="PackageSnapshotRecipe.Hash"/>).</param>
public sealed record PackageSnapshotDetail(PackageSnapshotInfo Info, long SizeBytes, string RecipeHash);

/// <summary>
/// Finds package snapshots on the Docker engine by their volumes' labels: the release, and the id of the release
/// image as it is now. A volume counts only when its build finished, which a tiny container of the release image
/// with the volume mounted read-only checks (the <see cref="PackageSnapshotRecipe.CompleteMarker"/> file).
/// </summary>
public sealed partial class DockerPackageSnapshots : IPackageSnapshots
{
    /// <summary>The <see cref="ContainerLabels.Throwaway"/> value of the containers that check, list and build snapshots.</summary>
    public const string ThrowawayPurpose = "package-snapshot";

    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DockerPackageSnapshots> _logger;

    public DockerPackageSnapshots(IDockerClient docker, TimeProvider timeProvider, ILogger<DockerPackageSnapshots> logger)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async Task<PackageSnapshotInfo?> FindAsync(PackageSnapshotSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        return (await FindDetailAsync(source, cancellationToken))?.Info;
    }

    /// <summary>Like <see cref="FindAsync"/>, with the snapshot's size; null when the release image or its complete snapshot is missing.</summary>
    public async Task<PackageSnapshotDetail?> FindDetailAsync(PackageSnapshotSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        (string? imageId, _) = await ImageBuilder.InspectAsync(_docker, source.ReleaseImage, cancellationToken);
        return imageId is null ? null : await FindCompleteAsync(source.Release, imageId, cancellationToken);
    }

    /// <summary>The complete snapshot of the release image <paramref name="imageId"/>, preferring one made by the current builder; null when there is none.</summary>
    public async Task<PackageSnapshotDetail?> FindCompleteAsync(string release, string imageId, CancellationToken cancellationToken)
    {
        IEnumerable<VolumeResponse> candidates = (await ListAsync(release, imageId, cancellationToken))
            .OrderByDescending(v => Label(v, ContainerLabels.RecipeHash) == PackageSnapshotRecipe.Hash)
            .ThenByDescending(v => v.CreatedAt, StringComparer.Ordinal);
        foreach (VolumeResponse volume in candidates)
        {
            if (await ReadCompleteAsync(volume, imageId, cancellationToken) is { } complete)
            {
                return complete;
            }
        }

        return null;
    }

    /// <summary>The snapshot volumes of a release (of one of its images when <paramref name="imageId"/> is set), complete or not.</summary>
    public async Task<IList<VolumeResponse>> ListAsync(string release, string? imageId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(release);
        List<string> labels =
        [
            $"{ContainerLabels.Managed}={ContainerLabels.ManagedValue}",
            $"{ContainerLabels.Snapshot}={ContainerLabels.ManagedValue}",
            $"{ContainerLabels.Release}={release}",
        ];
        if (imageId is not null)
        {
            labels.Add($"{ContainerLabels.ImageId}={imageId}");
        }

        VolumesListResponse listed = await _docker.Volumes.ListAsync(new VolumesListParameters { Filters = ContainerLabels.Filter(labels) }, cancellationToken);
        return listed.Volumes ?? [];
    }

    /// <summary>
    /// The snapshot in <paramref name="volume"/> when its build finished: its marker file names the id its labels
    /// carry. Read by a container of <paramref name="imageId"/> (network none, the volume read-only), removed after.
    /// </summary>
    public async Task<PackageSnapshotDetail?> ReadCompleteAsync(VolumeResponse volume, string imageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(volume);
        string? release = Label(volume, ContainerLabels.Release);
        string? id = Label(volume, ContainerLabels.SnapshotId);
        if (release is null || id is null)
        {
            return null;
        }

        var run = new ThrowawayRun(imageId, ["/bin/cat", $"{PackageSnapshotRecipe.BuildMountPath}/{PackageSnapshotRecipe.CompleteMarker}"], ThrowawayPurpose)
        {
            Mounts = [new Mount { Type = "volume", Source = volume.Name, Target = PackageSnapshotRecipe.BuildMountPath, ReadOnly = true }],
            Labels = new Dictionary<string, string>(StringComparer.Ordinal) { [ContainerLabels.Release] = release },
            CaptureStandardOutput = true,
        };
        ThrowawayResult result = await ThrowawayContainer.RunAsync(_docker, run, _timeProvider, output: null, cancellationToken);
        if (result.ExitCode != 0 || PackageSnapshotRecipe.ParseCompleteMarker(result.StandardOutput) is not { } marker || marker.Id != id)
        {
            LogIncomplete(_logger, volume.Name, release, result.ExitCode);
            return null;
        }

        var info = new PackageSnapshotInfo(release, volume.Name, id, imageId, marker.Packages);
        return new PackageSnapshotDetail(info, marker.Bytes, Label(volume, ContainerLabels.RecipeHash) ?? "");
    }

    internal static string? Label(VolumeResponse volume, string name) =>
        volume.Labels is not null && volume.Labels.TryGetValue(name, out string? value) ? value : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Package snapshot volume {Volume} of release {Release} is not complete (check exited {ExitCode})")]
    private static partial void LogIncomplete(ILogger logger, string volume, string release, long exitCode);
}
