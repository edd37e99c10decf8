namespace CiRunner.Execution;

/// <summary>
/// Reads the step script's two output streams (see <see cref="StepScript"/>): splits each into lines, tells the
/// script's marker lines from the steps' output, and passes a marker on once both streams carried it, so that each
/// stream's output before the marker has been passed on first. The empty line just before a marker is the marker's
/// own leading newline and is dropped; any other empty line is output like the rest. Pure: bytes in, lines and markers out.
/// </summary>
internal sealed class StepOutputReader
{
    private readonly string _markerPrefix;
    private readonly OutputStream[] _streams = [new(isStderr: false), new(isStderr: true)];
    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);

    /// <param name="markerPrefix">This job's marker prefix (<see cref="StepScript.MarkerPrefix"/>).</param>
    public StepOutputReader(string markerPrefix)
    {
        _markerPrefix = markerPrefix;
    }

    /// <summary>What the first <paramref name="count"/> bytes of <paramref name="buffer"/>, read from one stream, complete: output lines and markers, in order.</summary>
    public List<StepOutput> Read(byte[] buffer, int count, bool isStderr)
    {
        OutputStream from = _streams[isStderr ? 1 : 0];
        var items = new List<StepOutput>();
        foreach (string line in from.Splitter.Push(buffer, count))
        {
            StepMarker? marker = StepScript.Parse(line, _markerPrefix);
            if (marker is null)
            {
                from.Line(line, items);
                continue;
            }

            from.DropHeldEmptyLine();
            _seen[marker.Key] = _seen.GetValueOrDefault(marker.Key) + 1;
            if (_seen[marker.Key] >= 2)
            {
                items.Add(new StepOutput(isStderr, "", marker));
            }
        }

        return items;
    }

    /// <summary>The output left when both streams ended: an unterminated last line is output, never a marker.</summary>
    public List<StepOutput> End()
    {
        var items = new List<StepOutput>();
        foreach (OutputStream stream in _streams)
        {
            stream.End(items);
        }

        return items;
    }

    /// <summary>One stream: its line splitter, and an empty line held back in case a marker follows.</summary>
    private sealed class OutputStream
    {
        private readonly bool _isStderr;
        private bool _heldEmptyLine;

        public OutputStream(bool isStderr)
        {
            _isStderr = isStderr;
        }

        public Utf8LineSplitter Splitter { get; } = new();

        public void Line(string line, List<StepOutput> items)
        {
            if (_heldEmptyLine)
            {
                _heldEmptyLine = false;
                items.Add(new StepOutput(_isStderr, ""));
            }

            if (line.Length == 0)
            {
                _heldEmptyLine = true;
                return;
            }

            items.Add(new StepOutput(_isStderr, line));
        }

        public void DropHeldEmptyLine() => _heldEmptyLine = false;

        public void End(List<StepOutput> items)
        {
            string? rest = Splitter.Drain();
            if (rest is not null)
            {
                Line(rest, items);
            }

            if (_heldEmptyLine)
            {
                _heldEmptyLine = false;
                items.Add(new StepOutput(_isStderr, ""));
            }
        }
    }
}

/// <summary>An output line of a step, or a marker of the step script (then <see cref="Line"/> is empty).</summary>
/// <param name="IsStderr">The stream it came from (for a marker: the stream that carried it second).</param>
/// <param name="Line">The output line, without its newline.</param>
/// <param name="Marker">The marker, once both streams carried it; null for output.</param>
internal sealed record StepOutput(bool IsStderr, string Line, StepMarker? Marker = null);
