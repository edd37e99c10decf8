using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>What the engine has of one release: its image, and its package snapshot when the release wants one.</summary>
/// <param name="Release">The release.</param>
/// <param name="Image">Its image reference.</param>
/// <param name="ImageId">The image's id; null when the image is missing.</param>
/// <param name="WantsSnapshot">Whether the release has <c>PackageSnapshot</c>.</param>
/// <param name="Snapshot">The complete snapshot of the image as it is now; null when missing (or not wanted).</param>
public sealed record ReleaseInventoryEntry(string Release, string Image, string? ImageId, bool WantsSnapshot, PackageSnapshotDetail? Snapshot);

/// <summary>Reads, for <c>validate</c>, which release images and package snapshots the engine has.</summary>
public static class ReleaseInventory
{
    /// <summary>One entry per release, in the given order.</summary>
    public static async Task<IReadOnlyList<ReleaseInventoryEntry>> ReadAsync(
        IDockerClient docker, DockerPackageSnapshots snapshots, IEnumerable<(string Name, string Image, bool PackageSnapshot)> releases, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(releases);
        var entries = new List<ReleaseInventoryEntry>();
        foreach ((string name, string image, bool wantsSnapshot) in releases)
        {
            (string? imageId, _) = await ImageBuilder.InspectAsync(docker, image, cancellationToken);
            PackageSnapshotDetail? snapshot = wantsSnapshot && imageId is not null
                ? await snapshots.FindCompleteAsync(name, imageId, cancellationToken)
                : null;
            entries.Add(new ReleaseInventoryEntry(name, image, imageId, wantsSnapshot, snapshot));
        }

        return entries;
    }
}
