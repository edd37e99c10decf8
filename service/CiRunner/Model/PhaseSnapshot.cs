namespace CiRunner.Model;

/// <summary>
/// A phase of a job and the image its file system was committed to (<c>Snapshots</c>): either this job made it
/// (<see cref="Made"/>: the phase ended green and later cells with the same phase may start from it) or this job's
/// phase was not run but taken from it (<see cref="Used"/>), made by <see cref="SourceJobId"/> of <see cref="SourceRunId"/>.
/// </summary>
/// <param name="Phase">The phase: <c>deploy</c> or <c>upgrade</c>.</param>
/// <param name="Role"><see cref="Made"/> or <see cref="Used"/>.</param>
/// <param name="ImageId">The snapshot image's id.</param>
/// <param name="Key">What the phase was (release image id, module commits, scenario content, steps, package snapshot), hashed.</param>
/// <param name="SourceRunId">The run of the job that made it.</param>
/// <param name="SourceJobId">The job that made it.</param>
public sealed record PhaseSnapshot(string Phase, string Role, string ImageId, string Key, long SourceRunId, long SourceJobId)
{
    /// <summary>The job committed the phase's file system.</summary>
    public const string Made = "made";

    /// <summary>The job started after the phase, from a snapshot another job made.</summary>
    public const string Used = "used";

    /// <summary>One line for logs, <c>cirunner show</c> and the job page.</summary>
    public string Describe() => Role == Used
        ? $"phase {Phase} from snapshot {Short(ImageId)} (made by job {SourceJobId} of run {SourceRunId}; key {Short(Key)})"
        : $"phase {Phase} saved as snapshot {Short(ImageId)} (key {Short(Key)})";

    private static string Short(string id)
    {
        string hex = id.StartsWith("sha256:", StringComparison.Ordinal) ? id["sha256:".Length..] : id;
        return hex.Length > 12 ? hex[..12] : hex;
    }
}
