namespace CiRunner.Matrix;

/// <summary>Finds and hides passwords written into URLs (<c>https://user:secret@host/repo</c>).</summary>
public static partial class UrlCredentials
{
    public static bool HasPassword(string? url) => FindPassword(url) is not null;

    /// <summary>The URL with its password replaced by <c>***</c>; unchanged when it has none.</summary>
    public static string Redact(string url)
    {
        (int Start, int Length)? password = FindPassword(url);
        return password is { } p ? string.Concat(url.AsSpan(0, p.Start), "***", url.AsSpan(p.Start + p.Length)) : url;
    }

    /// <summary>
    /// Text (an error message, a log line) with every <c>scheme://user:secret@</c> login reduced to
    /// <c>scheme://***@</c>: git libraries quote the URL they failed on, login included.
    /// </summary>
    public static string RedactText(string text) => LoginInText().Replace(text, "$1***@");

    [System.Text.RegularExpressions.GeneratedRegex(@"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex LoginInText();

    // Parsed by hand rather than with Uri: Uri rejects some scp-like and malformed URLs, and a secret in a
    // malformed URL is still a secret.
    private static (int Start, int Length)? FindPassword(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return null;
        }

        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return null;
        }

        int authorityStart = scheme + 3;
        int authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
        if (authorityEnd < 0)
        {
            authorityEnd = url.Length;
        }

        int at = url.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
        if (at < 0)
        {
            return null;
        }

        int colon = url.IndexOf(':', authorityStart, at - authorityStart);
        return colon < 0 || colon + 1 == at ? null : (colon + 1, at - colon - 1);
    }
}
