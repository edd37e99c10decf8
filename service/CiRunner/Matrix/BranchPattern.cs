using System.Diagnostics.CodeAnalysis;

namespace CiRunner.Matrix;

/// <summary>
/// A tracked branch pattern such as <c>master</c>, <c>stable/*</c> or <c>unmaintained/*</c>.
/// <c>*</c> matches any run of characters, <c>/</c> included, so <c>*</c> alone tracks every branch.
/// </summary>
public sealed record BranchPattern
{
    private BranchPattern(string pattern)
    {
        Pattern = pattern;
    }

    public string Pattern { get; }

    public bool HasWildcard => Pattern.Contains('*', StringComparison.Ordinal);

    /// <summary>Parses a pattern, or says what is wrong with it.</summary>
    public static bool TryParse(string value, [NotNullWhen(true)] out BranchPattern? pattern)
    {
        pattern = GitRefName.IsValid(value, allowWildcard: true) ? new BranchPattern(value) : null;
        return pattern is not null;
    }

    public static BranchPattern Parse(string value) =>
        TryParse(value, out BranchPattern? pattern)
            ? pattern
            : throw new FormatException($"'{value}' is not a branch pattern.");

    public bool IsMatch(string branch) => Glob(Pattern.AsSpan(), branch.AsSpan());

    /// <summary>The same glob for other names (releases, scenarios in matrix rules): <c>*</c> matches any run of characters.</summary>
    public static bool GlobMatch(string pattern, string text) => Glob(pattern.AsSpan(), text.AsSpan());

    public override string ToString() => Pattern;

    // Iterative glob with single-star backtracking: linear enough for branch names and no regex to escape.
    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0;
        int t = 0;
        int starAt = -1;
        int matchedAt = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starAt = p++;
                matchedAt = t;
            }
            else if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (starAt >= 0)
            {
                p = starAt + 1;
                t = ++matchedAt;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}

/// <summary>The rules of <c>git check-ref-format</c> that matter for branch and tag names written by people.</summary>
public static class GitRefName
{
    public static bool IsValid(string? name, bool allowWildcard = false)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 255)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '~' or '^' or ':' or '?' or '[' or '\\'
                || (c == '*' && !allowWildcard))
            {
                return false;
            }
        }

        return !name.StartsWith('/') && !name.EndsWith('/') && !name.StartsWith('.') && !name.EndsWith('.')
            && !name.StartsWith('-')
            && !name.Contains("//", StringComparison.Ordinal) && !name.Contains("..", StringComparison.Ordinal)
            && !name.Contains("@{", StringComparison.Ordinal) && !name.Contains("/.", StringComparison.Ordinal)
            && !name.EndsWith(".lock", StringComparison.Ordinal) && name != "@";
    }
}
