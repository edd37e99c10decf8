using System.Globalization;
using System.Text;
using System.Text.Json;
using CiRunner.Execution;

namespace CiRunner.Web;

/// <summary>
/// The Server-Sent Events of a live log (text/event-stream): one event per line of the log, its id the byte offset
/// just after the line (what a reconnecting EventSource sends back as <c>Last-Event-ID</c>), named <c>step</c> for a
/// step's header and left unnamed (<c>message</c>) otherwise; comments to keep proxies from closing a quiet
/// connection; and the <c>end</c> event with the job's result. Written by hand rather than with SseFormatter, which
/// has no comments and writes each event on its own, where a burst of lines goes out in one write here.
/// </summary>
internal static class LiveLogFrames
{
    /// <summary>The event name of a step's header line.</summary>
    public const string StepEvent = "step";

    /// <summary>The event name of the last event: the job has ended and every line has been sent.</summary>
    public const string EndEvent = "end";

    /// <summary>How long an EventSource waits before it reconnects after the connection dropped.</summary>
    public const int RetryMilliseconds = 2000;

    /// <summary>The first frame: the reconnection delay, and a comment saying what follows (it also sends the headers at once).</summary>
    public static string Opening(long jobId, long offset) =>
        string.Create(CultureInfo.InvariantCulture, $"retry: {RetryMilliseconds}\n: job {jobId} log from byte {offset}\n\n");

    /// <summary>One event per line, in order.</summary>
    public static void AppendLines(StringBuilder frames, IReadOnlyList<LogLine> lines)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(lines);
        foreach (LogLine line in lines)
        {
            frames.Append("id: ").Append(line.End.ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (JobLog.IsStepHeader(line.Text))
            {
                frames.Append("event: ").Append(StepEvent).Append('\n');
            }

            // A carriage return inside a line (progress output) would end the data field early: the page shows none.
            frames.Append("data: ").Append(line.Text.Replace("\r", "", StringComparison.Ordinal)).Append("\n\n");
        }
    }

    /// <summary>A comment line: ignored by EventSource, but traffic for a proxy that closes idle connections.</summary>
    public static string Comment(string text) => $": {text.ReplaceLineEndings(" ")}\n\n";

    /// <summary>The last event: <c>{"result":"success","summary":"..."}</c> (result null when the job is gone).</summary>
    public static string End(JobResult? result, string? summary)
    {
        string data = JsonSerializer.Serialize(new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["result"] = result?.ToWire(),
            ["summary"] = summary,
        });
        return $"event: {EndEvent}\ndata: {data}\n\n";
    }

    /// <summary>
    /// The offset to start at: a reconnecting EventSource's <c>Last-Event-ID</c> wins over the page's <c>from</c>;
    /// null with <paramref name="error"/> when one is not a byte offset.
    /// </summary>
    public static long? StartOffset(string? lastEventId, string? from, out string? error)
    {
        error = null;
        (string name, string? value) = !string.IsNullOrEmpty(lastEventId) ? ("Last-Event-ID", lastEventId) : ("from", from);
        if (string.IsNullOrEmpty(value))
        {
            return 0;
        }

        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
        {
            return offset;
        }

        error = $"{name} '{value}' is not a byte offset of the log: give a whole number from 0, as the stream's event ids are.";
        return null;
    }
}
