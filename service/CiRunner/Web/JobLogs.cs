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

    /// <summary>The last <paramref name="maxBytes"/> of the log for the job page (the whole log is one link away); null without a log.</summary>
    public async Task<(string Text, bool Truncated)?> ReadTailAsync(long jobId, int maxBytes, CancellationToken cancellationToken)
    {
        await using FileStream? stream = await OpenAsync(jobId, cancellationToken);
        if (stream is null)
        {
            return null;
        }

        long length = stream.Length;
        bool truncated = length > maxBytes;
        if (truncated)
        {
            stream.Seek(length - maxBytes, SeekOrigin.Begin);
        }

        byte[] buffer = new byte[Math.Min(length, maxBytes)];
        int read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        string text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        if (truncated && text.IndexOf('\n', StringComparison.Ordinal) is int firstBreak and >= 0)
        {
            // Drop the partial first line (and any split UTF-8 sequence with it).
            text = text[(firstBreak + 1)..];
        }

        return (text, truncated);
    }
}
