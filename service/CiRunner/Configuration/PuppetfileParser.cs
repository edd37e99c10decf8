using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>The outcome of parsing one Puppetfile: the module set, or every error found (never both).</summary>
public sealed record PuppetfileParseResult(Puppetfile? Puppetfile, IReadOnlyList<ConfigurationError> Errors)
{
    [MemberNotNullWhen(true, nameof(Puppetfile))]
    public bool Succeeded => Puppetfile is not null;
}

/// <summary>
/// Reads the subset of r10k's Puppetfile (a Ruby DSL) that module sets use: <c>forge</c> (ignored),
/// <c>moduledir</c>, comments, and <c>mod 'name', :git =&gt; 'url', :ref =&gt; 'x'</c> entries in both hash
/// syntaxes, both quote styles, spread over lines by trailing commas. Written by hand because the file is
/// Ruby, and evaluating Ruby to read a list of pins would be far more than this needs.
/// </summary>
public static partial class PuppetfileParser
{
    private static readonly string[] _versionKeys = ["ref", "branch", "tag", "commit"];

    /// <summary>Parses <paramref name="text"/>; <paramref name="path"/> only names the file in errors and in the result.</summary>
    public static PuppetfileParseResult Parse(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        var errors = new List<ConfigurationError>();
        List<Token> tokens = new Lexer(text, path, errors).Tokenize();
        var parser = new Parser(tokens, path, errors);
        Puppetfile puppetfile = parser.ParseFile();
        if (errors.Count == 0)
        {
            return new PuppetfileParseResult(puppetfile, []);
        }

        // The lexer reports before the parser; people read a file top to bottom.
        return new PuppetfileParseResult(null, errors.OrderBy(e => LineOf(e.Location)).ToList());
    }

    private static int LineOf(string location) =>
        int.TryParse(location.AsSpan("line ".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int line) ? line : 0;

    /// <summary>Reads and parses a file; a missing or unreadable file is reported as an error, not thrown.</summary>
    public static PuppetfileParseResult ParseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new PuppetfileParseResult(null, [new ConfigurationError(path, "file", null, $"a readable r10k Puppetfile ({e.Message})")]);
        }

        return Parse(text, path);
    }

    /// <summary>
    /// The short module name: <c>puppetlabs-stdlib</c> and <c>puppetlabs/stdlib</c> become <c>stdlib</c>.
    /// Null when the name is not a Puppet module name at all.
    /// </summary>
    public static string? NormalizeModuleName(string name)
    {
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        int separator = slash >= 0 ? slash : name.IndexOf('-', StringComparison.Ordinal);
        string shortName = separator >= 0 ? name[(separator + 1)..] : name;
        if (separator == 0 || (separator > 0 && !AuthorName().IsMatch(name[..separator])))
        {
            return null;
        }

        return ModuleName().IsMatch(shortName) ? shortName : null;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ModuleName();

    [GeneratedRegex("^[A-Za-z0-9_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex AuthorName();

    [GeneratedRegex("^[0-9a-f]{7,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex CommitId();
}
