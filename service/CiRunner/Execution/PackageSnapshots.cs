namespace CiRunner.Execution;

/// <summary>Finds the package snapshot a job needs (see <see cref="PackageSnapshotSource"/>).</summary>
public interface IPackageSnapshots
{
    /// <summary>
    /// The complete snapshot frozen from <paramref name="source"/>'s release image as it is now; null when there is none
    /// (never built, built from an older image, or its build did not finish).
    /// </summary>
    Task<PackageSnapshotInfo?> FindAsync(PackageSnapshotSource source, CancellationToken cancellationToken);
}
