using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary><c>cirunner logs &lt;job-id&gt;</c>: a job's log, copied through in chunks so a large log never sits in memory.</summary>
internal static class LogsCommand
{
    private const int ChunkChars = 16 * 1024;

    public static Command Create()
    {
        var jobId = new Argument<long>("job-id")
        {
            Description = "The job's id, as listed by 'cirunner show <run-id>'.",
            CustomParser = CliValues.Id("a job", "'cirunner show <run-id>'"),
        };

        var command = new Command("logs", "Print a job's log.");
        command.Arguments.Add(jobId);
        command.SetAction((parseResult, cancellationToken) => ResultsVerb.InvokeAsync(
            parseResult,
            (store, paths, output, error, token) => WriteAsync(store, paths, parseResult.GetValue(jobId), ReadMaxAge(parseResult), output, error, token),
            cancellationToken));
        return command;
    }

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
