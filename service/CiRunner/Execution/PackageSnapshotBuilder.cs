using System.Globalization;
using System.Net;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>What a package snapshot build did.</summary>
public enum PackageSnapshotStatus
{
    /// <summary>A complete snapshot of the release image as it is now existed; nothing was built.</summary>
    UpToDate,
    Built,
    Failed,
}

/// <summary>The outcome of making sure a release image has its package snapshot; a failure is a value with its evidence.</summary>
/// <param name="Release">The release.</param>
/// <param name="Image">The release image's reference.</param>
/// <param name="Status">Up to date, built or failed.</param>
/// <param name="Snapshot">The complete snapshot afterwards; null when the build failed.</param>
/// <param name="Error">Why it failed, in one line; null otherwise.</param>
/// <param name="OutputTail">The last lines of the build's output.</param>
/// <param name="Duration">Wall time.</param>
public sealed record PackageSnapshotOutcome(
    string Release,
    string Image,
    PackageSnapshotStatus Status,
    PackageSnapshotDetail? Snapshot,
    string? Error,
    IReadOnlyList<string> OutputTail,
    TimeSpan Duration)
{
    public bool Succeeded => Status != PackageSnapshotStatus.Failed;

    /// <summary>Snapshot volumes of the same release and image reference that this one replaced and that were removed.</summary>
    public IReadOnlyList<string> RemovedVolumes { get; init; } = [];
}

/// <summary>
/// Makes sure a release image has a complete package snapshot of exactly its current image id, and builds it when
/// not: (1) a throwaway container of the image lists the installed packages, which gives the snapshot's id; (2) a
/// volume named and labelled after the release, the image and that id is created; (3) a throwaway container of the
/// image with network host and the volume mounted at <c>/snapshot</c> runs <c>build-snapshot.sh</c>, which downloads
/// every listed package at its installed version from the mirror, indexes them as a flat apt repository, adds the
/// node-side <c>upgrade-node</c> and writes the completion marker last. A build that fails, times out or is
/// cancelled removes its volume; the throwaway containers are removed on every path. Snapshots the release's
/// earlier images had are removed once no container uses them.
/// </summary>
public sealed partial class PackageSnapshotBuilder
{
    private readonly IDockerClient _docker;
    private readonly DockerPackageSnapshots _snapshots;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<PackageSnapshotBuilder> _logger;

    public PackageSnapshotBuilder(IDockerClient docker, DockerPackageSnapshots snapshots, TimeProvider timeProvider, ILogger<PackageSnapshotBuilder> logger)
    {
        _docker = docker;
        _snapshots = snapshots;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Upper bound for listing the installed packages (a container start and dpkg-query: about a second).</summary>
    public TimeSpan ListTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Upper bound for the build: apt-get update and the downloads (43 s for 558 packages, 182 MB, here).</summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Makes sure <paramref name="image"/> (the image of <paramref name="release"/>) has a complete snapshot of its
    /// current id, building it when there is none (or when <paramref name="force"/>).
    /// </summary>
    public async Task<PackageSnapshotOutcome> EnsureAsync(string release, string image, bool force, IProgress<string>? output, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(release);
        ArgumentException.ThrowIfNullOrEmpty(image);
        long started = _timeProvider.GetTimestamp();
        IReadOnlyList<string> tail = [];
        try
        {
            (string? imageId, _) = await ImageBuilder.InspectAsync(_docker, image, cancellationToken);
            if (imageId is null)
            {
                return Failed(release, image, started, $"image '{image}' does not exist; build it (and its snapshot) with `{ReleaseImages.BuildCommand(release)}`", []);
            }

            await ThrowawayContainer.RemoveExitedAsync(_docker, DockerPackageSnapshots.ThrowawayPurpose, _timeProvider, cancellationToken);

            // The id must be known before the volume exists: its labels carry it, and labels are fixed at creation.
            ThrowawayResult listed = await ListPackagesAsync(release, imageId, cancellationToken);
            string? packageList = listed.ExitCode == 0 ? PackageSnapshotRecipe.NormalizePackageList(listed.StandardOutput) : null;
            if (packageList is null)
            {
                return Failed(release, image, started,
                    $"listing the installed packages of '{image}' failed (exit {listed.ExitCode}; an image for package snapshots needs /bin/sh and dpkg-query): {string.Join(" ", listed.StandardErrorLines.TakeLast(3))}".TrimEnd(' ', ':'),
                    listed.Tail);
            }

            string id = PackageSnapshotRecipe.ComputeId(packageList);
            int packageCount = packageList.Count(c => c == '\n');
            string volume = PackageSnapshotRecipe.VolumeName(release, imageId, id);
            PackageSnapshotDetail? snapshot = await FindExistingAsync(volume, imageId, force, cancellationToken);
            PackageSnapshotStatus status = PackageSnapshotStatus.UpToDate;
            if (snapshot is null)
            {
                LogBuilding(_logger, release, image, volume, packageCount, id);
                var labels = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
                    [ContainerLabels.Snapshot] = ContainerLabels.ManagedValue,
                    [ContainerLabels.Release] = release,
                    [ContainerLabels.Image] = image,
                    [ContainerLabels.ImageId] = imageId,
                    [ContainerLabels.SnapshotId] = id,
                    [ContainerLabels.SnapshotPackages] = packageCount.ToString(CultureInfo.InvariantCulture),
                    [ContainerLabels.RecipeHash] = PackageSnapshotRecipe.Hash,
                };
                await _docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = volume, Labels = labels }, cancellationToken);
                (snapshot, tail, string? error) = await FillAsync(release, image, imageId, volume, id, packageList, output, cancellationToken);
                if (snapshot is null)
                {
                    return Failed(release, image, started, error!, tail);
                }

                status = PackageSnapshotStatus.Built;
            }

            IReadOnlyList<string> removed = await RemoveReplacedAsync(release, image, volume, cancellationToken);
            TimeSpan duration = _timeProvider.GetElapsedTime(started);
            if (status == PackageSnapshotStatus.Built)
            {
                LogBuilt(_logger, release, volume, snapshot.Info.PackageCount, snapshot.SizeBytes / 1e6, duration.TotalSeconds);
            }
            else
            {
                LogUpToDate(_logger, release, volume, snapshot.Info.Id);
            }

            return new PackageSnapshotOutcome(release, image, status, snapshot, null, tail, duration) { RemovedVolumes = removed };
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or TimeoutException or HttpRequestException or IOException)
        {
            return Failed(release, image, started, ex is DockerApiException api ? $"the engine refused: {api.StatusCode} {api.ResponseBody?.Trim()}" : ex.Message, tail);
        }
    }

    private async Task<ThrowawayResult> ListPackagesAsync(string release, string imageId, CancellationToken cancellationToken)
    {
        var run = new ThrowawayRun(imageId, ["/bin/sh", $"{PackageSnapshotRecipe.BuildFolder}/{PackageSnapshotRecipe.BuildScriptName}", "list"], DockerPackageSnapshots.ThrowawayPurpose)
        {
            Files = [($"{PackageSnapshotRecipe.BuildFolder}/{PackageSnapshotRecipe.BuildScriptName}", PackageSnapshotRecipe.BuildScript)],
            Labels = new Dictionary<string, string>(StringComparer.Ordinal) { [ContainerLabels.Release] = release },
            Timeout = ListTimeout,
            CaptureStandardOutput = true,
        };
        return await ThrowawayContainer.RunAsync(_docker, run, _timeProvider, output: null, cancellationToken);
    }

    /// <summary>
    /// The complete snapshot already in <paramref name="volume"/>, or null after removing what is there: nothing, an
    /// unfinished build a process that died left, or (with <paramref name="force"/>) a complete one.
    /// </summary>
    private async Task<PackageSnapshotDetail?> FindExistingAsync(string volume, string imageId, bool force, CancellationToken cancellationToken)
    {
        VolumeResponse existing;
        try
        {
            existing = await _docker.Volumes.InspectAsync(volume, cancellationToken);
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!force && await _snapshots.ReadCompleteAsync(existing, imageId, cancellationToken) is { } complete)
        {
            return complete;
        }

        try
        {
            await _docker.Volumes.RemoveAsync(volume, force: false, cancellationToken);
            return null;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            throw new IOException(
                $"volume {volume} holds an unfinished or replaced snapshot and a container still uses it (a build of it running elsewhere, or a job); try again once it ended",
                ex);
        }
    }

    /// <summary>Runs the build into the new volume; on any failure the volume goes, so no half snapshot is ever found.</summary>
    private async Task<(PackageSnapshotDetail? Snapshot, IReadOnlyList<string> Tail, string? Error)> FillAsync(
        string release, string image, string imageId, string volume, string id, string packageList, IProgress<string>? output, CancellationToken cancellationToken)
    {
        bool keep = false;
        try
        {
            string folder = PackageSnapshotRecipe.BuildFolder;
            var run = new ThrowawayRun(imageId, ["/bin/sh", $"{folder}/{PackageSnapshotRecipe.BuildScriptName}"], DockerPackageSnapshots.ThrowawayPurpose)
            {
                // apt reaches the Debian mirror the image was built from, as the image's own build did.
                NetworkMode = "host",
                Mounts = [new Mount { Type = "volume", Source = volume, Target = PackageSnapshotRecipe.BuildMountPath }],
                Files =
                [
                    ($"{folder}/{PackageSnapshotRecipe.BuildScriptName}", PackageSnapshotRecipe.BuildScript),
                    ($"{folder}/{PackageSnapshotRecipe.UpgradeScriptName}", PackageSnapshotRecipe.UpgradeScript),
                    ($"{folder}/{PackageSnapshotRecipe.PackageListName}", Encoding.UTF8.GetBytes(packageList)),
                ],
                Environment = [$"RELEASE={release}", $"IMAGE={image}", $"SNAPSHOT_ID={id}"],
                Labels = new Dictionary<string, string>(StringComparer.Ordinal) { [ContainerLabels.Release] = release },
                Timeout = BuildTimeout,
            };
            ThrowawayResult built = await ThrowawayContainer.RunAsync(_docker, run, _timeProvider, output, cancellationToken);
            if (built.ExitCode != 0)
            {
                string? reason = built.StandardErrorLines.LastOrDefault(l => l.StartsWith(PackageSnapshotRecipe.ErrorPrefix, StringComparison.Ordinal))?[PackageSnapshotRecipe.ErrorPrefix.Length..];
                return (null, built.Tail, $"freezing the packages of '{image}' failed: {reason ?? $"the build exited {built.ExitCode}"}");
            }

            VolumeResponse created = await _docker.Volumes.InspectAsync(volume, cancellationToken);
            PackageSnapshotDetail? snapshot = await _snapshots.ReadCompleteAsync(created, imageId, cancellationToken);
            if (snapshot is null)
            {
                return (null, built.Tail, $"the snapshot build of '{image}' exited 0 but left no {PackageSnapshotRecipe.CompleteMarker} naming {id} in {volume}");
            }

            keep = true;
            return (snapshot, built.Tail, null);
        }
        finally
        {
            if (!keep)
            {
                await RemoveVolumeAsync(volume);
            }
        }
    }

    private async Task RemoveVolumeAsync(string volume)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _timeProvider);
        try
        {
            await _docker.Volumes.RemoveAsync(volume, force: true, timeout.Token);
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            // Its labels say what it is and it has no completion marker: no lookup uses it, and the next build replaces it.
            LogVolumeKept(_logger, volume, ex.Message);
        }
    }

    /// <summary>Removes the other snapshot volumes of the release's image reference (earlier images, older builders) that no container uses.</summary>
    private async Task<IReadOnlyList<string>> RemoveReplacedAsync(string release, string image, string current, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (VolumeResponse volume in await _snapshots.ListAsync(release, imageId: null, cancellationToken))
        {
            if (volume.Name == current || DockerPackageSnapshots.Label(volume, ContainerLabels.Image) != image)
            {
                continue;
            }

            try
            {
                await _docker.Volumes.RemoveAsync(volume.Name, force: false, cancellationToken);
                removed.Add(volume.Name);
                LogReplacedRemoved(_logger, volume.Name, release);
            }
            catch (DockerApiException ex) when (ex.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
            {
                // In use by a job that mounted it (the next build tries again), or gone already.
                LogReplacedKept(_logger, volume.Name, release, ex.StatusCode);
            }
        }

        return removed;
    }

    private PackageSnapshotOutcome Failed(string release, string image, long started, string error, IReadOnlyList<string> tail)
    {
        LogFailed(_logger, release, image, error);
        return new PackageSnapshotOutcome(release, image, PackageSnapshotStatus.Failed, null, error, tail, _timeProvider.GetElapsedTime(started));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Package snapshot of release {Release} is up to date: {Volume} ({SnapshotId})")]
    private static partial void LogUpToDate(ILogger logger, string release, string volume, string snapshotId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Building the package snapshot of release {Release} from {Image} into {Volume}: {Packages} packages, {SnapshotId}")]
    private static partial void LogBuilding(ILogger logger, string release, string image, string volume, int packages, string snapshotId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Built the package snapshot of release {Release} in {Volume}: {Packages} packages, {Megabytes:F0} MB in {Seconds:F1} s")]
    private static partial void LogBuilt(ILogger logger, string release, string volume, int packages, double megabytes, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "The package snapshot of release {Release} ({Image}) failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string release, string image, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed package snapshot {Volume} of release {Release}: its image was replaced")]
    private static partial void LogReplacedRemoved(ILogger logger, string volume, string release);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kept replaced package snapshot {Volume} of release {Release}: the engine answered {Status} (a container still uses it)")]
    private static partial void LogReplacedKept(ILogger logger, string volume, string release, HttpStatusCode status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the unfinished package snapshot volume {Volume}: {Error}")]
    private static partial void LogVolumeKept(ILogger logger, string volume, string error);
}
