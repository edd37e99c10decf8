namespace CiRunner.Results;

/// <summary>
/// A write to the results database kept finding it locked by another process for longer than
/// <c>Service:DatabaseLockTimeout</c>. Nothing of the write was stored; trying it again later is safe.
/// </summary>
public sealed class DatabaseLockedException : Exception
{
    public DatabaseLockedException(string location, string operation, TimeSpan waited, string lockHolders, Exception innerException)
        : base(
            $"The results database {location} is locked by another process: {operation} waited {Seconds(waited)} " +
            $"(Service:DatabaseLockTimeout) without getting the write lock. {lockHolders}; CiRunner carries on by itself once the lock is released.",
            innerException)
    {
        Location = location;
        Operation = operation;
        Waited = waited;
    }

    /// <summary>The SQLite file, or <c>postgresql://host:port/name</c>.</summary>
    public string Location { get; }

    /// <summary>The store method that could not write (<c>MarkStartedAsync</c>).</summary>
    public string Operation { get; }

    public TimeSpan Waited { get; }

    private static string Seconds(TimeSpan span) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{span.TotalSeconds:F0} s");
}
