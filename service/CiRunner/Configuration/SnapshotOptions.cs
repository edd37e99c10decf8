namespace CiRunner.Configuration;

/// <summary>
/// The <c>Snapshots</c> section: phase snapshots. When a job's deploy (or upgrade) phase ends green, its container's
/// file system is committed as an image, and an upgrade or rollback cell with the same phase starts from it instead
/// of running the phase again.
/// </summary>
public sealed class SnapshotOptions
{
    public const string SectionName = "Snapshots";

    /// <summary>Make and use phase snapshots. Off runs every phase of every job.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The most the snapshots of this instance may take on an engine, in GB: after each new snapshot the least
    /// recently used ones are removed until they fit (the one just made stays).
    /// </summary>
    [Number(0, 100_000, ErrorMessage = "a number of GB greater than 0, like 20")]
    public double MaxSizeGb { get; set; } = 20;

    /// <summary><see cref="MaxSizeGb"/> in bytes.</summary>
    public long MaxSizeBytes => (long)(MaxSizeGb * 1_000_000_000);
}
