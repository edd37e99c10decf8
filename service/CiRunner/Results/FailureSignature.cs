using System.Text.RegularExpressions;

namespace CiRunner.Results;

/// <summary>
/// Why a job failed, in a form that is equal whenever the same thing broke: the failing step (phase and name) and the
/// first error line of the job's summary with what differs from run to run taken out (timestamps, UUIDs, hex ids and
/// commits, temporary paths, numbers). The flake ledger counts failures by it, as elastic-recheck matched failures to
/// known bugs by their log lines.
/// </summary>
public static partial class FailureSignature
{
    /// <summary>Long enough for Puppet's error lines, short enough to read in a table and to group by.</summary>
    public const int MaxLength = 240;

    /// <summary>The signature of a job that did not pass, from its failing step and summary.</summary>
    /// <param name="phase">The failing step's phase.</param>
    /// <param name="step">The failing step's name; null when the job ended before a step did (<c>job</c> stands for it).</param>
    /// <param name="summary">The job's summary: its first line says how the step ended, later ones quote Puppet's errors.</param>
    public static string Of(string? phase, string? step, string? summary)
    {
        string where = string.IsNullOrEmpty(step) ? "job" : string.IsNullOrEmpty(phase) ? step : $"{phase}/{step}";
        string? line = FirstErrorLine(summary);
        return line is null ? where : Truncate($"{where}: {Normalise(line)}");
    }

    /// <summary>The line that says what broke: Puppet's first <c>Error:</c> line, else the first line after its <c>step '...' (...):</c> part.</summary>
    public static string? FirstErrorLine(string? summary)
    {
        if (string.IsNullOrWhiteSpace(summary))
        {
            return null;
        }

        string[] lines = summary.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.FirstOrDefault(l => l.StartsWith("Error:", StringComparison.Ordinal)) is { } puppetError)
        {
            return puppetError;
        }

        // "failure: step 'apply' (apply, phase deploy): puppet apply exited 4" -> "puppet apply exited 4"
        Match step = StepPrefix().Match(lines[0]);
        return step.Success ? lines[0][step.Length..].Trim() : lines[0];
    }

    /// <summary>The line with what differs between runs of the same failure replaced by placeholders.</summary>
    public static string Normalise(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string text = Timestamp().Replace(line, "<time>");
        text = Uuid().Replace(text, "<id>");
        text = TempPath().Replace(text, "<tmp>");
        text = Hex().Replace(text, "<hex>");
        text = Number().Replace(text, "N");
        return Space().Replace(text, " ").Trim();
    }

    private static string Truncate(string text) => text.Length <= MaxLength ? text : text[..(MaxLength - 1)] + "…";

    [GeneratedRegex(@"^[a-z]+: step '[^']*' \([^)]*\):")]
    private static partial Regex StepPrefix();

    // 2026-12-05T09:12:55.123Z, 2026-12-05 09:12:55 +0000, 09:12:55.
    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|\s?[+-]\d{2}:?\d{2})?|\b\d{2}:\d{2}:\d{2}(\.\d+)?\b")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")]
    private static partial Regex Uuid();

    // Temporary directories and files: /tmp/tmp.Xy12ab/..., /var/tmp/..., mktemp's names.
    [GeneratedRegex(@"(/var)?/tmp/[^\s'"":;,)\]]*")]
    private static partial Regex TempPath();

    // Commits, container and image ids, object addresses: 7 or more hex digits with at least one digit (so words stay).
    [GeneratedRegex(@"\b(0x)?(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{7,}\b")]
    private static partial Regex Hex();

    // Numbers that start a word (12, 4.2, 12s, 1.2.3); a digit inside a word names something (utf8mb3, python3, ipv6,
    // v1.2) and stays.
    [GeneratedRegex(@"(?<![\p{L}\d_.])\d+(\.\d+)*")]
    private static partial Regex Number();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Space();
}
