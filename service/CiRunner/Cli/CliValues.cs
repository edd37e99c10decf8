using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace CiRunner.Cli;

/// <summary>
/// Parsers for the values options and arguments take: each turns its text into the value or adds one error,
/// "NAME: 'VALUE' is not WHAT; give ..." (what <see cref="BadInput"/> prints as it is), at parse time. System.CommandLine's
/// own converters would do for some types, but not for <see cref="Uri"/> (it has none, and fails only when the verb
/// reads the value, with a stack trace), not for ranges, and their messages do not say what to give instead.
/// </summary>
internal static partial class CliValues
{
    /// <summary>An absolute http or https URL, such as a service's base address or a Debian mirror.</summary>
    public static Func<ArgumentResult, Uri?> HttpUrl(string example) => result =>
        Uri.TryCreate(Text(result), UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0
            ? uri
            : Fail<Uri>(result, $"is not an absolute http(s) URL; give one like {example}");

    /// <summary>A whole number of at least <paramref name="minimum"/>.</summary>
    public static Func<ArgumentResult, int> WholeNumber(int minimum, string example) => result =>
        int.TryParse(Text(result), NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= minimum
            ? value
            : Fail<int>(result, string.Create(CultureInfo.InvariantCulture, $"is not a whole number of at least {minimum}; give one like {example}"));

    /// <summary>A database id (a run's, a job's): a whole number from 1.</summary>
    public static Func<ArgumentResult, long> Id(string what, string listedBy) => result =>
        long.TryParse(Text(result), NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value >= 1
            ? value
            : Fail<long>(result, $"is not {what} id; give a whole number from 1, as {listedBy} lists them");

    /// <summary>Any text but an empty or blank one (a module, a branch, a release name).</summary>
    public static Func<ArgumentResult, string?> NonBlank(string expected) => result =>
        Text(result) is { Length: > 0 } text && !string.IsNullOrWhiteSpace(text)
            ? text
            : Fail<string>(result, $"is empty; give {expected}");

    /// <summary>A commit id as the service accepts one (<c>ManualTrigger</c>): 7 to 40 hexadecimal digits.</summary>
    public static Func<ArgumentResult, string?> CommitId() => result =>
        Text(result) is { Length: >= 7 and <= 40 } text && text.All(char.IsAsciiHexDigit)
            ? text
            : Fail<string>(result, "is not a commit id; give 7 to 40 hexadecimal digits, like 3f2a9c1");

    /// <summary>A Debian suite's code name, which also becomes an image tag (<c>cirunner/base:SUITE</c>).</summary>
    public static Func<ArgumentResult, string?> SuiteName() => result =>
        SuitePattern().IsMatch(Text(result))
            ? Text(result)
            : Fail<string>(result, "is not a Debian suite name; give one like bookworm or trixie");

    /// <summary>An image reference an engine accepts as a tag: <c>[host[:port]/]path[:tag]</c>, path in lower case.</summary>
    public static Func<ArgumentResult, string?> ImageTag(string example) => result =>
        ImageTagPattern().IsMatch(Text(result))
            ? Text(result)
            : Fail<string>(result, $"is not an image tag; give one like {example}");

    /// <summary>A file path (which need not exist yet: the verb says what is missing in its own terms).</summary>
    public static Func<ArgumentResult, FileInfo?> FilePath(string example) => result =>
        Text(result) is { Length: > 0 } text && !string.IsNullOrWhiteSpace(text) && text.IndexOfAny(Path.GetInvalidPathChars()) < 0
            ? new FileInfo(text)
            : Fail<FileInfo>(result, $"is not a file path; give one like {example}");

    /// <summary>A folder that exists.</summary>
    public static Func<ArgumentResult, DirectoryInfo?> ExistingFolder(string expected) => result =>
        Text(result) is { Length: > 0 } text && Directory.Exists(text)
            ? new DirectoryInfo(text)
            : Fail<DirectoryInfo>(result, $"is not a folder here; give {expected}");

    /// <summary>Repeatable <c>KEY=VALUE</c> pairs, the key not empty.</summary>
    public static Func<ArgumentResult, string[]> KeyValues(string example) => result =>
    {
        string[] values = [.. result.Tokens.Select(t => t.Value)];
        return values.FirstOrDefault(v => v.IndexOf('=', StringComparison.Ordinal) <= 0) is { } bad
            ? Fail<string[]>(result, bad, $"is not KEY=VALUE; give one like {example}") ?? []
            : values;
    };

    /// <summary>How errors name a symbol: an option by its name (<c>--url</c>), an argument as help shows it (<c>&lt;run-id&gt;</c>).</summary>
    public static string Name(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : $"<{result.Argument.Name}>";

    // A single-value option given twice is an arity error before any parser runs, so a parser sees one token.
    private static string Text(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static T? Fail<T>(ArgumentResult result, string problem) => Fail<T>(result, Text(result), problem);

    private static T? Fail<T>(ArgumentResult result, string value, string problem)
    {
        result.AddError($"{Name(result)}: '{value}' {problem}");
        return default;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SuitePattern();

    // Docker's reference grammar, simplified: lower-case path components separated by '/', an optional registry host
    // with a port, and an optional tag of word characters, dots and dashes (at most 128).
    [GeneratedRegex(@"^([a-zA-Z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageTagPattern();
}
