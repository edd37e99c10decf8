namespace CiRunner.Execution;

/// <summary>A package snapshot on the engine: a release's packages frozen when its image was built.</summary>
/// <param name="Release">The release whose image it was frozen from.</param>
/// <param name="Volume">The Docker volume that holds it (an apt repository, its package list and the upgrade script).</param>
/// <param name="Id">Its identity: <c>sha256:</c> and the hash of its package list (name=version per line) and upgrade script.</param>
/// <param name="ImageId">The id of the release image it was frozen from.</param>
/// <param name="PackageCount">How many packages it holds.</param>
public sealed record PackageSnapshotInfo(string Release, string Volume, string Id, string ImageId, int PackageCount);

/// <summary>Finds the package snapshot a job needs (see <see cref="PackageSnapshotSource"/>).</summary>
public interface IPackageSnapshots
{
    /// <summary>
    /// The complete snapshot frozen from <paramref name="source"/>'s release image as it is now; null when there is none
    /// (never built, built from an older image, or its build did not finish).
    /// </summary>
    Task<PackageSnapshotInfo?> FindAsync(PackageSnapshotSource source, CancellationToken cancellationToken);
}
