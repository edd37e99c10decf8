using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Web;

/// <summary>
/// Opens a job's log by job id. The path always comes from the job's database row, never from the request, and
/// must lie inside the data directory; the file is opened for shared reading because the executor may still be
/// appending to it.
/// </summary>
internal sealed class JobLogs
{
    private readonly JobStore _jobs;
    private readonly DataPaths _paths;
    private readonly TimeSpan _maxAge;

    public JobLogs(JobStore jobs, DataPaths paths, Microsoft.Extensions.Options.IOptions<RetentionOptions>? retention = null)
    {
        _jobs = jobs;
        _paths = paths;
        _maxAge = (retention?.Value ?? new RetentionOptions()).MaxAge;
    }

    /// <summary>Why the job's log is gone when retention pruned it (<see cref="ExpiredLog"/>); null otherwise.</summary>
    public async Task<string?> ExpiredAsync(long jobId, CancellationToken cancellationToken) =>
        await _jobs.GetAsync(jobId, cancellationToken) is { } job ? ExpiredLog.Describe(job, _maxAge) : null;

    /// <summary>The open log, or null when the job does not exist, has not started or its log is gone.</summary>
    public async Task<FileStream?> OpenAsync(long jobId, CancellationToken cancellationToken)
    {
        JobRecord? job = await _jobs.GetAsync(jobId, cancellationToken);
        if (job is null || PathOf(job) is not { } path || !File.Exists(path))
        {
            return null;
        }

        try
        {
            // ReadWrite | Delete: a running job keeps writing, and reading must never block the executor or a cleanup.
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                BufferSize = 64 * 1024,
            });
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The full path of the job's log, or null when it has none or its stored path leads outside the data directory.</summary>
    public string? PathOf(JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.LogPath is not { Length: > 0 } stored)
        {
            return null;
        }

        string path = Path.GetFullPath(stored, _paths.Root);
        string root = Path.TrimEndingDirectorySeparator(_paths.Root) + Path.DirectorySeparatorChar;
        return path.StartsWith(root, StringComparison.Ordinal) ? path : null;
    }

    /// <summary>
    /// The last <paramref name="maxBytes"/> of the log for the job page (the whole log is one link away); null without
    /// a log. <see cref="JobLogTail.End"/> is where the live log goes on from.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="maxBytes">At most this much of the log's end.</param>
    /// <param name="wholeLinesOnly">
    /// Leave out a last line without its line break: a running job may be in the middle of writing it, and the live
    /// log sends it whole.
    /// </param>
    /// <param name="cancellationToken">Stops the read.</param>
    public async Task<JobLogTail?> ReadTailAsync(long jobId, int maxBytes, bool wholeLinesOnly, CancellationToken cancellationToken)
    {
        await using FileStream? stream = await OpenAsync(jobId, cancellationToken);
        if (stream is null)
        {
            return null;
        }

        long length = stream.Length;
        bool truncated = length > maxBytes;
        long start = truncated ? length - maxBytes : 0;
        stream.Seek(start, SeekOrigin.Begin);
        byte[] buffer = new byte[Math.Min(length, maxBytes)];
        int read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);

        int end = wholeLinesOnly && read > 0 ? Array.LastIndexOf(buffer, (byte)'\n', read - 1) + 1 : read;
        int first = 0;
        if (truncated && Array.IndexOf(buffer, (byte)'\n', 0, end) is int firstBreak and >= 0)
        {
            // Drop the partial first line (and any split UTF-8 sequence with it).
            first = firstBreak + 1;
        }

        return new JobLogTail(System.Text.Encoding.UTF8.GetString(buffer, first, Math.Max(0, end - first)), truncated, start + end);
    }
}

/// <summary>The end of a job's log as the job page shows it.</summary>
/// <param name="Text">Whole lines, each with its line break.</param>
/// <param name="Truncated">The log goes back further than <paramref name="Text"/>.</param>
/// <param name="End">The byte offset just after <paramref name="Text"/>: where the live log of a running job goes on.</param>
public sealed record JobLogTail(string Text, bool Truncated, long End);
