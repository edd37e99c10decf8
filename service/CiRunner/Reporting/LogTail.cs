using System.Text;

namespace CiRunner.Reporting;

/// <summary>The end of a job log, cleaned for XML and JSON: what a reader needs to see why a job failed.</summary>
public static partial class LogTail
{
    /// <summary>The last <paramref name="maxLines"/> lines (at most <paramref name="maxBytes"/> bytes) of a log; empty when it cannot be read.</summary>
    public static async Task<string> ReadAsync(string? logFile, int maxLines, int maxBytes, CancellationToken cancellationToken)
    {
        if (logFile is null)
        {
            return "";
        }

        try
        {
            // Shared access: reporting must never block a writer or a cleanup.
            await using var stream = new FileStream(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
            long start = Math.Max(0, stream.Length - maxBytes);
            stream.Seek(start, SeekOrigin.Begin);
            byte[] buffer = new byte[stream.Length - start];
            int read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            string text = Encoding.UTF8.GetString(buffer, 0, read);
            List<string> lines = [.. text.TrimEnd('\n', '\r').Split('\n')];

            // A cut in the middle of the file leaves a partial first line (and maybe half a UTF-8 sequence): drop it.
            if (start > 0 && lines.Count > 0)
            {
                lines.RemoveAt(0);
            }

            return Clean(string.Join('\n', lines.TakeLast(maxLines)));
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>
    /// Removes terminal color sequences (Puppet colors its output) and the characters XML 1.0 cannot hold, so the
    /// text can go into a JUnit file as it is.
    /// </summary>
    public static string Clean(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string withoutEscapes = AnsiEscape().Replace(text, "");
        var clean = new StringBuilder(withoutEscapes.Length);
        for (int i = 0; i < withoutEscapes.Length; i++)
        {
            char c = withoutEscapes[i];
            if (char.IsHighSurrogate(c) && i + 1 < withoutEscapes.Length && char.IsLowSurrogate(withoutEscapes[i + 1]))
            {
                clean.Append(c).Append(withoutEscapes[++i]);
            }
            else if (c is '\t' or '\n' or '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD))
            {
                clean.Append(c);
            }
        }

        return clean.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\x1B\[[0-9;?]*[ -/]*[@-~]", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex AnsiEscape();
}
