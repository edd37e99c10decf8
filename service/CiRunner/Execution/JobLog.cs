using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CiRunner.Execution;

/// <summary>
/// The per-job log file: every line is prefixed with a UTC timestamp and written as it arrives, so
/// <c>tail -f</c> (or the dashboard) follows a running job. Keeps the last lines in memory as evidence
/// for error summaries.
/// </summary>
internal sealed partial class JobLog : IAsyncDisposable
{
    private const int TailCapacity = 40;

    private readonly StreamWriter _writer;
    private readonly TimeProvider _timeProvider;
    private readonly Queue<string> _tail = new();

    private JobLog(StreamWriter writer, TimeProvider timeProvider)
    {
        _writer = writer;
        _timeProvider = timeProvider;
    }

    public string Path { get; private init; } = "";

    /// <summary>Creates (or truncates) the log file and its folder.</summary>
    public static JobLog Open(string path, TimeProvider timeProvider)
    {
        string? folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        // FileShare.Read: readers follow the file while the job writes it.
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 4096, useAsync: true);
        var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };
        return new JobLog(writer, timeProvider) { Path = path };
    }

    /// <summary>A line from CiRunner itself (job and step boundaries), marked <c>==</c>.</summary>
    public async Task EventAsync(string text, CancellationToken cancellationToken)
    {
        foreach (string line in text.Split('\n'))
        {
            await WriteLineAsync("==", line.TrimEnd('\r'), keepInTail: false);
        }

        await _writer.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// The line that opens a step (<c>== step 2/5 deploy/idempotency (idempotency, timeout 600 s): puppet apply ...</c>);
    /// <see cref="IsStepHeader"/> recognises it, so the live log can show it as a header.
    /// </summary>
    public Task StepHeaderAsync(string label, StepKind kind, TimeSpan timeout, string command, CancellationToken cancellationToken) =>
        EventAsync($"{label} ({kind.ToWire()}, timeout {JobSummaries.Seconds(timeout)}): {command}", cancellationToken);

    /// <summary>Whether a line of the file (timestamp and marker included) is a step's header written by <see cref="StepHeaderAsync"/>.</summary>
    public static bool IsStepHeader(string line) => StepHeaderLine().IsMatch(line);

    /// <summary>A line of a step's output; written at once, flushed by <see cref="FlushAsync"/>.</summary>
    public Task OutputAsync(bool isStderr, string line) => WriteLineAsync(isStderr ? "err" : "out", line, keepInTail: true);

    public Task FlushAsync(CancellationToken cancellationToken) => _writer.FlushAsync(cancellationToken);

    /// <summary>The last <paramref name="lines"/> lines of output (CiRunner's own lines left out), for evidence in a summary.</summary>
    public IReadOnlyList<string> Tail(int lines) => _tail.Skip(Math.Max(0, _tail.Count - lines)).ToList();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _writer.DisposeAsync();
        }
        catch (IOException)
        {
            // A full disk fails the last flush too; the job already reports the write failure.
        }
    }

    private async Task WriteLineAsync(string marker, string line, bool keepInTail)
    {
        string stamp = _timeProvider.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        string text = $"{stamp} {marker} {line}";
        if (keepInTail)
        {
            if (_tail.Count == TailCapacity)
            {
                _tail.Dequeue();
            }

            _tail.Enqueue($"{marker} {line}");
        }

        await _writer.WriteLineAsync(text);
    }

    // The label is "step N/M phase/name" (StepOutcomes); the step's end line has "label: result" instead of "(kind, timeout".
    [GeneratedRegex(@"^\S+ == step \d+/\d+ .+? \([a-z-]+, timeout [^)]*\): ", RegexOptions.CultureInvariant)]
    private static partial Regex StepHeaderLine();
}
