using System.Runtime.CompilerServices;
using System.Text;

namespace CiRunner.Execution;

/// <summary>A whole line of a job's log, without its line break; <paramref name="End"/> is the byte offset just after it.</summary>
internal readonly record struct LogLine(string Text, long End);

/// <summary>Where a followed job stands, as its caller reads it from the store between reads of the file.</summary>
/// <param name="LogFile">The log's full path once the job has one (null while it is queued, or when the path is not to be read).</param>
/// <param name="Finished">The job has ended: its log is complete once the file is read to its end.</param>
internal readonly record struct FollowedJob(string? LogFile, bool Finished);

/// <summary>What <see cref="JobLogFollower"/> yields: new lines, a quiet spell, or the end of the job (after its last line).</summary>
internal enum LogFollowKind
{
    Lines,
    Quiet,
    Ended,
}

/// <param name="Kind">What happened.</param>
/// <param name="Lines">The new lines, in order (empty unless <see cref="LogFollowKind.Lines"/>).</param>
/// <param name="Job">The job as last read (for <see cref="LogFollowKind.Quiet"/>: whether it has a log yet).</param>
internal sealed record LogFollowItem(LogFollowKind Kind, IReadOnlyList<LogLine> Lines, FollowedJob Job);

/// <summary>
/// Follows a job's log file as the executor appends to it, for the live log page and <c>cirunner logs --follow</c>:
/// whole lines from a byte offset, then the lines written later, then the end once the job has finished and the file
/// is read to its end. It polls: the file's growth each interval, the job's state (a store read) when the file had
/// nothing new; a file watcher would not see a log written on a remote volume, and polling costs one read per interval.
/// </summary>
internal sealed class JobLogFollower
{
    /// <summary>A line longer than this is passed on in pieces, so a runaway line never grows the buffer.</summary>
    private const int BufferBytes = 64 * 1024;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _quietNotice;

    /// <param name="time">The clock of the waits.</param>
    /// <param name="interval">How often the file and the job are looked at while nothing new comes.</param>
    /// <param name="quietNotice">After this long without a new line, a <see cref="LogFollowKind.Quiet"/> item (and again after as long).</param>
    public JobLogFollower(TimeProvider time, TimeSpan interval, TimeSpan quietNotice)
    {
        _time = time;
        _interval = interval;
        _quietNotice = quietNotice;
    }

    /// <summary>
    /// The log from <paramref name="offset"/> on; ends after <see cref="LogFollowKind.Ended"/>, or throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> stops it first.
    /// </summary>
    /// <param name="probe">Reads the job's state; called once before the first read and after each quiet interval.</param>
    /// <param name="offset">The byte offset to start at (0, or a line's <see cref="LogLine.End"/> seen before).</param>
    /// <param name="cancellationToken">Stops the follower (client gone, service stopping, Ctrl-C).</param>
    public async IAsyncEnumerable<LogFollowItem> FollowAsync(
        Func<CancellationToken, Task<FollowedJob>> probe, long offset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);

        FileStream? stream = null;
        try
        {
            byte[] buffer = new byte[BufferBytes];
            int filled = 0;
            long position = offset;
            long quietSince = _time.GetTimestamp();
            FollowedJob job = await probe(cancellationToken);
            while (true)
            {
                if (stream is null && job.LogFile is { } file && Open(file, offset) is { } opened)
                {
                    stream = opened;
                }

                bool grew = false;
                while (stream is not null)
                {
                    if (filled == buffer.Length)
                    {
                        // No line break in a whole buffer: pass the piece on as a line of its own.
                        position += filled;
                        yield return new LogFollowItem(LogFollowKind.Lines, [new LogLine(Utf8.GetString(buffer, 0, filled), position)], job);
                        filled = 0;
                    }

                    int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    grew = true;
                    List<LogLine> lines = Split(buffer, ref filled, read, ref position);
                    if (lines.Count > 0)
                    {
                        yield return new LogFollowItem(LogFollowKind.Lines, lines, job);
                    }
                }

                // The state was read before the file was read to its end: a finished job's file was complete then.
                if (job.Finished)
                {
                    if (filled > 0)
                    {
                        yield return new LogFollowItem(LogFollowKind.Lines, [new LogLine(Utf8.GetString(buffer, 0, filled).TrimEnd('\r'), position + filled)], job);
                    }

                    yield return new LogFollowItem(LogFollowKind.Ended, [], job);
                    yield break;
                }

                if (grew)
                {
                    quietSince = _time.GetTimestamp();
                }
                else if (_time.GetElapsedTime(quietSince) >= _quietNotice)
                {
                    quietSince = _time.GetTimestamp();
                    yield return new LogFollowItem(LogFollowKind.Quiet, [], job);
                }

                await Task.Delay(_interval, _time, cancellationToken);
                job = await probe(cancellationToken);
            }
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>The whole lines in the buffer after <paramref name="read"/> new bytes; what follows the last break moves to its start.</summary>
    private static List<LogLine> Split(byte[] buffer, ref int filled, int read, ref long position)
    {
        var lines = new List<LogLine>();
        int start = 0;
        int end = filled + read;
        for (int i = filled; i < end; i++)
        {
            if (buffer[i] == (byte)'\n')
            {
                position += i + 1 - start;
                lines.Add(new LogLine(Utf8.GetString(buffer, start, i - start).TrimEnd('\r'), position));
                start = i + 1;
            }
        }

        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
        filled = end - start;
        return lines;
    }

    /// <summary>The log opened for shared reading at <paramref name="offset"/>, or null while it does not exist.</summary>
    private static FileStream? Open(string path, long offset)
    {
        try
        {
            // ReadWrite | Delete: the executor keeps writing, and reading must never block it or a cleanup.
            var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                BufferSize = 0,
            });
            stream.Seek(offset, SeekOrigin.Begin);
            return stream;
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
