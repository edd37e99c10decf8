namespace CiRunner.Results;

/// <summary>The results store's log messages.</summary>
internal static partial class ResultsLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Applied results schema migration {Version} ({Name}) to {Database}")]
    public static partial void MigrationApplied(this ILogger logger, int version, string name, string database);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Results database {DatabaseFile} stays in journal mode {JournalMode}, not WAL (a network file system?); readers will wait for writers")]
    public static partial void NotWriteAheadLog(this ILogger logger, string databaseFile, string journalMode);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Run {RunId} finished: {Result}")]
    public static partial void RunFinished(this ILogger logger, long runId, JobResult result);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId} was still running; marked {Result}")]
    public static partial void RunningJobClosed(this ILogger logger, long jobId, long runId, JobResult result);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Results database {Database} is locked by another process (an open sqlite3 shell, a backup tool, another instance in a long write?); {Operation} keeps trying for up to {Timeout}")]
    public static partial void DatabaseLocked(this ILogger logger, string database, string operation, TimeSpan timeout);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Results database {Database} is no longer locked; {Operation} went through after {Seconds:F1} s")]
    public static partial void DatabaseLockReleased(this ILogger logger, string database, string operation, double seconds);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Warning, Message = "Could not write the write-ahead log of {DatabaseFile} back at stop ({Error}); SQLite replays it at the next open")]
    public static partial void CheckpointFailed(this ILogger logger, string databaseFile, string error);
}
