using System.Text;

namespace CiRunner.Execution;

/// <summary>Turns a byte stream into lines, keeping UTF-8 sequences and lines that span reads intact.</summary>
internal sealed class Utf8LineSplitter
{
    private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
    private readonly StringBuilder _pending = new();
    private char[] _chars = new char[4096];

    /// <summary>The complete lines in the bytes read so far.</summary>
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

    /// <summary>What is left of an unterminated last line, at the end of the stream.</summary>
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
