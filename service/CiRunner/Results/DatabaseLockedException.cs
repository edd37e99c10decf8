namespace CiRunner.Results;

/// <summary>
/// A write to the results database kept finding it locked by another process for longer than
/// <c>Service:DatabaseLockTimeout</c>. Nothing of the write was stored; trying it again later is safe.
/// </summary>
public sealed class DatabaseLockedException : Exception
{
    public DatabaseLockedException(string databaseFile, string operation, TimeSpan waited, Exception innerException)
        : base(
            $"The results database {databaseFile} is locked by another process: {operation} waited {Seconds(waited)} " +
            "(Service:DatabaseLockTimeout) without getting the write lock. Another program holds a write transaction or an " +
            "exclusive lock on the file: an open sqlite3 shell, a backup or copy tool, or a second CiRunner on the same data " +
            "directory. End that transaction or close the program; CiRunner carries on by itself once the lock is released.",
            innerException)
    {
        DatabaseFile = databaseFile;
        Operation = operation;
        Waited = waited;
    }

    public string DatabaseFile { get; }

    /// <summary>The store method that could not write (<c>MarkStartedAsync</c>).</summary>
    public string Operation { get; }

    public TimeSpan Waited { get; }

    private static string Seconds(TimeSpan span) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{span.TotalSeconds:F0} s");
}
