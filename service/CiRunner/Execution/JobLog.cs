using System.Globalization;
using System.Text;

namespace CiRunner.Execution;

/// <summary>
/// The per-job log file: every line is prefixed with a UTC timestamp and written as it arrives, so
/// <c>tail -f</c> (or the dashboard) follows a running job. Keeps the last lines in memory as evidence
/// for error summaries.
/// </summary>
internal sealed class JobLog : IAsyncDisposable
{
    private const int TailCapacity = 40;

    private readonly StreamWriter _writer;
    private readonly TimeProvider _timeProvider;
    private readonly Queue<string> _tail = new();
    private readonly LineSplitter _stdout = new("out");
    private readonly LineSplitter _stderr = new("err");

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
            await WriteLineAsync("==", line.TrimEnd('\r'));
        }

        await _writer.FlushAsync(cancellationToken);
    }

    /// <summary>Raw bytes from the container's stdout or stderr; complete lines are written and flushed.</summary>
    public async Task OutputAsync(bool isStderr, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        LineSplitter splitter = isStderr ? _stderr : _stdout;
        foreach (string line in splitter.Push(buffer, count))
        {
            await WriteLineAsync(splitter.Marker, line);
        }

        await _writer.FlushAsync(cancellationToken);
    }

    /// <summary>Writes what is left of unterminated lines (output that did not end with a newline).</summary>
    public async Task EndOutputAsync(CancellationToken cancellationToken)
    {
        foreach (LineSplitter splitter in new[] { _stdout, _stderr })
        {
            string? rest = splitter.Drain();
            if (rest is not null)
            {
                await WriteLineAsync(splitter.Marker, rest);
            }
        }

        await _writer.FlushAsync(cancellationToken);
    }

    /// <summary>The last <paramref name="lines"/> lines written, for evidence in a summary.</summary>
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

    private async Task WriteLineAsync(string marker, string line)
    {
        string stamp = _timeProvider.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        string text = $"{stamp} {marker} {line}";
        if (_tail.Count == TailCapacity)
        {
            _tail.Dequeue();
        }

        _tail.Enqueue($"{marker} {line}");
        await _writer.WriteLineAsync(text);
    }

    /// <summary>Turns a byte stream into lines, keeping UTF-8 sequences and lines that span reads intact.</summary>
    private sealed class LineSplitter
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
        private readonly StringBuilder _pending = new();
        private char[] _chars = new char[4096];

        public LineSplitter(string marker)
        {
            Marker = marker;
        }

        public string Marker { get; }

        public List<string> Push(byte[] buffer, int count)
        {
            int needed = _decoder.GetCharCount(buffer, 0, count, flush: false);
            if (needed > _chars.Length)
            {
                _chars = new char[needed];
            }

            int decoded = _decoder.GetChars(buffer, 0, count, _chars, 0, flush: false);
            var lines = new List<string>();
            int start = 0;
            for (int i = 0; i < decoded; i++)
            {
                if (_chars[i] == '\n')
                {
                    _pending.Append(_chars, start, i - start);
                    lines.Add(_pending.ToString().TrimEnd('\r'));
                    _pending.Clear();
                    start = i + 1;
                }
            }

            _pending.Append(_chars, start, decoded - start);
            return lines;
        }

        public string? Drain()
        {
            if (_pending.Length == 0)
            {
                return null;
            }

            string rest = _pending.ToString().TrimEnd('\r');
            _pending.Clear();
            return rest;
        }
    }
}
