using System.Text.RegularExpressions;

namespace CiRunner.Reporting;

/// <summary>
/// Recognises a <c>recheck</c> comment in a Gerrit change message. Gerrit writes a review's text after a first line
/// naming the patch set and any votes (<c>Patch Set 3: Code-Review+1</c>) and a count of inline comments
/// (<c>(2 comments)</c>); what remains must be exactly <c>recheck</c> or <c>recheck &lt;ci-name&gt;</c>, in any case.
/// A longer comment that merely mentions recheck is a conversation, not a request.
/// </summary>
public static partial class RecheckComment
{
    public static bool IsRecheck(string message, string ciName)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(ciName);

        List<string> lines = [.. message.ReplaceLineEndings("\n").Split('\n')];
        if (lines.Count > 0 && PatchSetHeader().IsMatch(lines[0]))
        {
            lines.RemoveAt(0);
        }

        string body = string.Join(' ', lines.Where(l => !CommentCount().IsMatch(l.Trim())));
        string words = Whitespace().Replace(body, " ").Trim();
        string named = "recheck " + Whitespace().Replace(ciName, " ").Trim();
        return words.Equals("recheck", StringComparison.OrdinalIgnoreCase) || words.Equals(named, StringComparison.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"^Patch Set \d+:.*$", RegexOptions.CultureInvariant)]
    private static partial Regex PatchSetHeader();

    [GeneratedRegex(@"^\(\d+ (inline )?comments?\)$", RegexOptions.CultureInvariant)]
    private static partial Regex CommentCount();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Whitespace();
}
