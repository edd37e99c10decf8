using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary>
/// <c>cirunner logs &lt;job-id&gt;</c>: a job's log, copied through in chunks so a large log never sits in memory;
/// with <c>--follow</c>, then the lines the job writes until it ends, and an exit code that says how it ended.
/// </summary>
internal static class LogsCommand
{
    /// <summary><c>--follow</c>: the job ended with another result than success.</summary>
    public const int JobDidNotPass = 1;

    private const int ChunkChars = 16 * 1024;

    /// <summary>How often <c>--follow</c> looks at the file and the job while nothing new comes.</summary>
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var jobId = new Argument<long>("job-id")
        {
            Description = "The job's id, as listed by 'cirunner show <run-id>'.",
            CustomParser = CliValues.Id("a job", "'cirunner show <run-id>'"),
        };

        var follow = new Option<bool>("--follow", "-f")
        {
            Description = "Go on printing the lines the job writes until it ends (waiting for a queued job to start); exit 0 when it passed, 1 when it ended otherwise.",
        };

        var command = new Command("logs", "Print a job's log.");
        command.Arguments.Add(jobId);
        command.Options.Add(follow);
        command.SetAction((parseResult, cancellationToken) => ResultsVerb.InvokeAsync(
            parseResult,
            (store, paths, output, error, token) => parseResult.GetValue(follow)
                ? FollowAsync(store, paths, parseResult.GetValue(jobId), ReadMaxAge(parseResult), TimeProvider.System, output, error, token)
                : WriteAsync(store, paths, parseResult.GetValue(jobId), ReadMaxAge(parseResult), output, error, token),
            cancellationToken));
        return command;
    }

    /// <summary>
    /// <c>logs --follow</c>: the log from its start, then each line as the job writes it, until the job has ended and its
    /// log is printed; waits for a queued job to start (saying so once on stderr). Exits 0 when the job passed and
    /// <see cref="JobDidNotPass"/> when it ended otherwise (as <c>gh run watch --exit-status</c>), and
    /// <see cref="RunCommand.Cancelled"/> when Ctrl+C stops the following (the job goes on).
    /// </summary>
    /// <param name="store">The results store: where the job's state is read while following.</param>
    /// <param name="paths">Where logs are.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="maxAge"><c>Retention:MaxAge</c> as configured, for the message about an expired log.</param>
    /// <param name="time">The clock of the waits between reads.</param>
    /// <param name="output">The log goes here.</param>
    /// <param name="error">Waiting, and why there is no log, go here.</param>
    /// <param name="cancellationToken">Ctrl+C.</param>
    public static async Task<int> FollowAsync(
        ResultsStore store, DataPaths paths, long jobId, string? maxAge, TimeProvider time, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        JobRecord? job = await store.Jobs.GetAsync(jobId, cancellationToken);
        if (job is null)
        {
            await error.WriteLineAsync($"No job {jobId} in {store.Database.Location}.".AsMemory(), cancellationToken);
            return 1;
        }

        if (ExpiredLog.Describe(job, maxAge) is { } expired)
        {
            await error.WriteLineAsync(expired.AsMemory(), cancellationToken);
            return 1;
        }

        if (job.StartedAt is null && job.State != JobState.Finished)
        {
            await error.WriteLineAsync($"Job {jobId} is {ResultsText.Status(job)}: waiting for it to start (Ctrl+C stops waiting; the job stays queued).".AsMemory(), cancellationToken);
        }

        // The quiet notices are for the web stream's proxies; the terminal needs none.
        var follower = new JobLogFollower(time, FollowInterval, TimeSpan.MaxValue);
        try
        {
            await foreach (LogFollowItem item in follower.FollowAsync(ct => ProbeAsync(store, paths, jobId, ct), 0, cancellationToken))
            {
                foreach (LogLine line in item.Lines)
                {
                    await output.WriteAsync(line.Text.AsMemory(), cancellationToken);
                    await output.WriteAsync("\n".AsMemory(), cancellationToken);
                }

                await output.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync($"Stopped following job {jobId} (Ctrl+C); the job goes on: cirunner logs --follow {jobId} follows it again.".AsMemory(), CancellationToken.None);
            return RunCommand.Cancelled;
        }

        JobRecord? ended = await store.Jobs.GetAsync(jobId, cancellationToken);
        if (ended?.LogPath is null)
        {
            await error.WriteLineAsync($"Job {jobId} has no log: it ended before a container ran; summary: {ended?.Summary ?? "none"}.".AsMemory(), cancellationToken);
        }

        return ended?.Result?.Passed() == true ? 0 : JobDidNotPass;
    }

    /// <summary>A job gone from the store (retention) counts as finished: nothing more will be written.</summary>
    private static async Task<FollowedJob> ProbeAsync(ResultsStore store, DataPaths paths, long jobId, CancellationToken cancellationToken) =>
        await store.Jobs.GetAsync(jobId, cancellationToken) is { } job
            ? new FollowedJob(job.LogPath is null ? null : ResolveLogPath(paths, job.LogPath), job.State == JobState.Finished)
            : new FollowedJob(null, Finished: true);

    public static Task<int> WriteAsync(ResultsStore store, DataPaths paths, long jobId, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        WriteAsync(store, paths, jobId, maxAge: null, output, error, cancellationToken);

    /// <param name="store">The results store.</param>
    /// <param name="paths">Where logs are.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="maxAge"><c>Retention:MaxAge</c> as configured, for the message about an expired log.</param>
    /// <param name="output">The log goes here.</param>
    /// <param name="error">Why there is none goes here.</param>
    /// <param name="cancellationToken">Stops the copy.</param>
    public static async Task<int> WriteAsync(ResultsStore store, DataPaths paths, long jobId, string? maxAge, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        JobRecord? job = await store.Jobs.GetAsync(jobId, cancellationToken);
        if (job is null)
        {
            await error.WriteLineAsync($"No job {jobId} in {store.Database.Location}.".AsMemory(), cancellationToken);
            return 1;
        }

        if (ExpiredLog.Describe(job, maxAge) is { } expired)
        {
            await error.WriteLineAsync(expired.AsMemory(), cancellationToken);
            return 1;
        }

        if (job.LogPath is null)
        {
            string why = job.StartedAt is null
                ? $"it is {ResultsText.Status(job)} and never started"
                : $"it ended before a container ran; summary: {job.Summary ?? "none"}";
            await error.WriteLineAsync($"Job {jobId} has no log: {why}.".AsMemory(), cancellationToken);
            return 1;
        }

        string logFile = ResolveLogPath(paths, job.LogPath);
        FileStream stream;
        try
        {
            // ReadWrite sharing: the job may still be writing its log.
            stream = new FileStream(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 64 * 1024, useAsync: true);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            await error.WriteLineAsync($"The log of job {jobId}, {logFile}, does not exist (removed, or the data directory moved?).".AsMemory(), cancellationToken);
            return 1;
        }

        await using (stream)
        {
            using var reader = new StreamReader(stream);
            char[] chunk = new char[ChunkChars];
            int read;
            while ((read = await reader.ReadAsync(chunk.AsMemory(), cancellationToken)) > 0)
            {
                await output.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
            }
        }

        await output.FlushAsync(cancellationToken);
        return 0;
    }

    /// <summary><c>Retention:MaxAge</c> as written in the configuration, else its default.</summary>
    private static string ReadMaxAge(ParseResult parseResult)
    {
        IConfigurationRoot configuration = CliConfiguration.Build(GlobalOptions.ResolveConfigPath(parseResult));
        return configuration[$"{RetentionOptions.SectionName}:{nameof(RetentionOptions.MaxAge)}"] is { Length: > 0 } maxAge ? maxAge : "90d";
    }

    /// <summary>Log paths are stored absolute or relative to the data directory, which may have moved since.</summary>
    public static string ResolveLogPath(DataPaths paths, string logPath) =>
        Path.IsPathRooted(logPath) ? logPath : Path.Combine(paths.Root, logPath);
}
