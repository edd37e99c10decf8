namespace CiRunner.Cli;

/// <summary>
/// Columns padded to their widest cell, two spaces apart, no trailing blanks. Output of the results verbs is
/// read by people and by grep alike, so it stays plain text whatever the terminal's width.
/// </summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    public TextTable(params string[] headers)
    {
        _headers = headers;
    }

    public int RowCount => _rows.Count;

    public void AddRow(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"Expected {_headers.Length} cells, got {cells.Length}.", nameof(cells));
        }

        // One row per line: a multi-line summary or value must not break the columns.
        _rows.Add(cells.Select(c => c.ReplaceLineEndings(" ")).ToArray());
    }

    public async Task WriteAsync(TextWriter writer, string indent, CancellationToken cancellationToken)
    {
        int[] widths = _headers.Select((header, column) => _rows.Select(row => row[column].Length).Prepend(header.Length).Max()).ToArray();
        await WriteLineAsync(writer, indent, _headers, widths, cancellationToken);
        foreach (string[] row in _rows)
        {
            await WriteLineAsync(writer, indent, row, widths, cancellationToken);
        }
    }

    private static async Task WriteLineAsync(TextWriter writer, string indent, string[] cells, int[] widths, CancellationToken cancellationToken)
    {
        string line = indent + string.Join("  ", cells.Select((cell, column) => cell.PadRight(widths[column])));
        await writer.WriteLineAsync(line.TrimEnd().AsMemory(), cancellationToken);
    }
}
