using System.Diagnostics.CodeAnalysis;
using System.Text;
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

    private enum TokenKind
    {
        Word,
        Symbol,
        Label,
        String,
        Comma,
        Arrow,
        LeftParen,
        RightParen,
        Newline,

        /// <summary>Something the lexer already reported; the statement holding it is skipped silently.</summary>
        Invalid,
        Other,
        End,
    }

    private readonly record struct Token(TokenKind Kind, string Text, int Line);

    private sealed class Lexer(string text, string path, List<ConfigurationError> errors)
    {
        private readonly List<Token> _tokens = [];
        private int _position;
        private int _line = 1;

        public List<Token> Tokenize()
        {
            while (_position < text.Length)
            {
                char c = text[_position];
                char next = _position + 1 < text.Length ? text[_position + 1] : '\0';
                if (c == '\n')
                {
                    Add(TokenKind.Newline, "\n");
                    _line++;
                    _position++;
                }
                else if (c is ' ' or '\t' or '\r' or '\f' or '\uFEFF')
                {
                    _position++;
                }
                else if (c == '#')
                {
                    while (_position < text.Length && text[_position] != '\n')
                    {
                        _position++;
                    }
                }
                else if (c is '\'' or '"')
                {
                    ReadString(c);
                }
                else if (c == ',')
                {
                    Add(TokenKind.Comma, ",");
                    _position++;
                }
                else if (c == '=' && next == '>')
                {
                    Add(TokenKind.Arrow, "=>");
                    _position += 2;
                }
                else if (c == '(')
                {
                    Add(TokenKind.LeftParen, "(");
                    _position++;
                }
                else if (c == ')')
                {
                    Add(TokenKind.RightParen, ")");
                    _position++;
                }
                else if (c == ':' && IsIdentifierStart(next))
                {
                    _position++;
                    Add(TokenKind.Symbol, ReadIdentifier());
                }
                else if (IsIdentifierStart(c))
                {
                    string word = ReadIdentifier();
                    // `git: 'url'` (Ruby 1.9 hash syntax) is a label; `::` would be a constant path, which is not one.
                    if (_position < text.Length && text[_position] == ':'
                        && (_position + 1 >= text.Length || text[_position + 1] != ':'))
                    {
                        _position++;
                        Add(TokenKind.Label, word);
                    }
                    else
                    {
                        Add(TokenKind.Word, word);
                    }
                }
                else
                {
                    Add(TokenKind.Other, c.ToString());
                    _position++;
                }
            }

            Add(TokenKind.End, "");
            return _tokens;
        }

        private void Add(TokenKind kind, string value) => _tokens.Add(new Token(kind, value, _line));

        private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

        private string ReadIdentifier()
        {
            int start = _position;
            while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] == '_'))
            {
                _position++;
            }

            return text[start.._position];
        }

        private void ReadString(char quote)
        {
            int start = _position;
            _position++;
            var value = new StringBuilder();
            while (_position < text.Length && text[_position] != '\n')
            {
                char c = text[_position];
                if (c == quote)
                {
                    _position++;
                    string result = value.ToString();
                    if (quote == '"' && result.Contains("#{", StringComparison.Ordinal))
                    {
                        errors.Add(new ConfigurationError(path, $"line {_line}", result, "a plain string; Ruby interpolation (#{...}) is not supported"));
                        Add(TokenKind.Invalid, result);
                    }
                    else
                    {
                        Add(TokenKind.String, result);
                    }

                    return;
                }

                if (c == '\\' && _position + 1 < text.Length && text[_position + 1] != '\n')
                {
                    char escaped = text[_position + 1];
                    value.Append(quote == '\''
                        ? escaped is '\\' or '\'' ? escaped.ToString() : "\\" + escaped
                        : escaped switch { 'n' => "\n", 't' => "\t", _ => escaped.ToString() });
                    _position += 2;
                    continue;
                }

                value.Append(c);
                _position++;
            }

            // Puppetfile strings never span lines, so the line the string started on is the one to fix.
            string fragment = text[start.._position].TrimEnd('\r');
            errors.Add(new ConfigurationError(path, $"line {_line}", fragment, $"a string closed with {quote} on the same line"));
            Add(TokenKind.Invalid, fragment);
        }
    }

    private sealed class Parser(List<Token> tokens, string path, List<ConfigurationError> errors)
    {
        private readonly List<PuppetfileModule> _modules = [];
        private readonly Dictionary<string, int> _firstLine = new(StringComparer.Ordinal);
        private string? _moduleDir;
        private int _moduleDirLine;
        private int _position;

        private Token Current => tokens[_position];

        public Puppetfile ParseFile()
        {
            while (true)
            {
                SkipNewlines();
                if (Current.Kind == TokenKind.End)
                {
                    break;
                }

                int errorsBefore = errors.Count;
                bool parsed = Current switch
                {
                    { Kind: TokenKind.Word, Text: "mod" } => ParseMod(),
                    { Kind: TokenKind.Word, Text: "forge" } => ParseForge(),
                    { Kind: TokenKind.Word, Text: "moduledir" } => ParseModuleDir(),
                    { Kind: TokenKind.Invalid } => false,
                    _ => Fail(Current, Describe(Current), "a statement: forge, moduledir or mod"),
                };

                if (parsed && Current.Kind is not (TokenKind.Newline or TokenKind.End))
                {
                    parsed = Fail(Current, Describe(Current), "the end of the line");
                }

                if (!parsed || errors.Count > errorsBefore)
                {
                    SkipStatement();
                }
            }

            return new Puppetfile(path, _moduleDir, _modules);
        }

        private bool ParseForge()
        {
            _position++;
            // The Forge is never contacted (every module comes from git), so its URL is accepted and ignored.
            if (Current.Kind != TokenKind.String)
            {
                return Fail(Current, Describe(Current), "forge followed by a quoted URL");
            }

            _position++;
            return true;
        }

        private bool ParseModuleDir()
        {
            Token keyword = Current;
            _position++;
            if (Current.Kind != TokenKind.String || Current.Text.Length == 0)
            {
                return Fail(Current, Describe(Current), "moduledir followed by a quoted, non-empty folder name");
            }

            if (_moduleDir is not null)
            {
                return Fail(keyword, Current.Text, $"a single moduledir (already set at line {_moduleDirLine})");
            }

            _moduleDir = Current.Text;
            _moduleDirLine = keyword.Line;
            _position++;
            return true;
        }

        private bool ParseMod()
        {
            Token keyword = Current;
            _position++;
            bool parenthesized = Accept(TokenKind.LeftParen);
            if (parenthesized)
            {
                SkipNewlines();
            }

            if (Current.Kind != TokenKind.String)
            {
                return Current.Kind != TokenKind.Invalid && Fail(Current, Describe(Current), "mod followed by a quoted module name");
            }

            Token nameToken = Current;
            _position++;
            string? name = NormalizeModuleName(nameToken.Text);
            if (name is null)
            {
                Fail(nameToken, nameToken.Text, "a module name like keystone, puppetlabs-stdlib or puppetlabs/stdlib");
            }

            var options = new Dictionary<string, (string Value, int Line)>(StringComparer.Ordinal);
            string? forgeVersion = null;
            while (Accept(TokenKind.Comma))
            {
                SkipNewlines();
                Token token = Current;
                if (token.Kind == TokenKind.String)
                {
                    forgeVersion = token.Text;
                    _position++;
                    continue;
                }

                string key;
                if (token.Kind == TokenKind.Label)
                {
                    key = token.Text;
                    _position++;
                }
                else if (token.Kind == TokenKind.Symbol && tokens[_position + 1].Kind == TokenKind.Arrow)
                {
                    key = token.Text;
                    _position += 2;
                }
                else if (token.Kind == TokenKind.Symbol)
                {
                    // `mod 'x', :latest` asks the Forge for a version.
                    forgeVersion = ":" + token.Text;
                    _position++;
                    continue;
                }
                else
                {
                    return token.Kind != TokenKind.Invalid
                        && Fail(token, Describe(token), "a key such as :git => 'url' or git: 'url' after the comma");
                }

                SkipNewlines();
                Token value = Current;
                if (value.Kind == TokenKind.Invalid)
                {
                    return false;
                }

                if (value.Kind != TokenKind.String)
                {
                    return Fail(value, Describe(value), $"a quoted string as the value of :{key}");
                }

                _position++;
                if (key != "git" && !_versionKeys.Contains(key))
                {
                    Fail(token, ":" + key, "one of the keys :git, :ref, :branch, :tag, :commit");
                }
                else if (!options.TryAdd(key, (value.Text, value.Line)))
                {
                    Fail(token, ":" + key, $"each key once per mod (:{key} is already set at line {options[key].Line})");
                }
            }

            if (parenthesized)
            {
                SkipNewlines();
                if (!Accept(TokenKind.RightParen))
                {
                    return Fail(Current, Describe(Current), "a closing ) after the mod arguments");
                }
            }

            return FinishMod(keyword, nameToken, name, options, forgeVersion);
        }

        private bool FinishMod(Token keyword, Token nameToken, string? name, Dictionary<string, (string Value, int Line)> options, string? forgeVersion)
        {
            if (!options.TryGetValue("git", out (string Value, int Line) git))
            {
                string described = forgeVersion is null ? $"mod '{nameToken.Text}'" : $"mod '{nameToken.Text}', {Quote(forgeVersion)}";
                return Fail(keyword, described, "a :git URL and a :ref: this is a Forge module, and runs must be offline and repeatable, so add :git => 'url' and :ref => 'tag or branch'");
            }

            if (forgeVersion is not null)
            {
                Fail(keyword, forgeVersion, $"no Forge version beside :git for '{nameToken.Text}'; pin the version with :ref");
            }

            if (git.Value.Length == 0 || git.Value.Any(char.IsWhiteSpace))
            {
                Fail(new Token(TokenKind.String, git.Value, git.Line), git.Value, "a git URL without spaces");
            }
            else if (UrlCredentials.HasPassword(git.Value))
            {
                Fail(new Token(TokenKind.String, git.Value, git.Line), UrlCredentials.Redact(git.Value), "a git URL without a password; give credentials through environment variables (Modules:N:Credentials)");
            }

            string[] versionKeys = _versionKeys.Where(options.ContainsKey).ToArray();
            if (versionKeys.Length > 1)
            {
                Fail(keyword, string.Join(", ", versionKeys.Select(k => ":" + k)), "only one of :ref, :branch, :tag or :commit");
            }

            PuppetfileRefKind kind = PuppetfileRefKind.Default;
            string? reference = null;
            if (versionKeys.Length == 1)
            {
                (reference, int line) = options[versionKeys[0]];
                kind = versionKeys[0] switch
                {
                    "branch" => PuppetfileRefKind.Branch,
                    "tag" => PuppetfileRefKind.Tag,
                    "commit" => PuppetfileRefKind.Commit,
                    _ => PuppetfileRefKind.Ref,
                };

                bool valid = kind == PuppetfileRefKind.Commit ? CommitId().IsMatch(reference) : GitRefName.IsValid(reference);
                if (!valid)
                {
                    Fail(new Token(TokenKind.String, reference, line), reference,
                        kind == PuppetfileRefKind.Commit ? "a commit id of 7 to 40 lower-case hex digits" : "a git branch or tag name");
                }
            }

            if (name is null)
            {
                return false;
            }

            if (_firstLine.TryGetValue(name, out int firstLine))
            {
                return Fail(nameToken, nameToken.Text, $"each module once per Puppetfile ('{name}' is already declared at line {firstLine})");
            }

            _firstLine.Add(name, keyword.Line);
            _modules.Add(new PuppetfileModule(name, git.Value, kind, reference, keyword.Line));
            return true;
        }

        private bool Accept(TokenKind kind)
        {
            if (Current.Kind != kind)
            {
                return false;
            }

            _position++;
            return true;
        }

        private void SkipNewlines()
        {
            while (Current.Kind == TokenKind.Newline)
            {
                _position++;
            }
        }

        // After an error, resume at the next line that is not a continuation (one not ending in a comma).
        private void SkipStatement()
        {
            while (Current.Kind != TokenKind.End)
            {
                Token token = Current;
                _position++;
                if (token.Kind == TokenKind.Newline && tokens[_position - 2].Kind is not (TokenKind.Comma or TokenKind.Arrow))
                {
                    return;
                }
            }
        }

        private bool Fail(Token at, string value, string expected)
        {
            errors.Add(new ConfigurationError(path, $"line {at.Line}", value, expected));
            return false;
        }

        private static string Describe(Token token) => token.Kind switch
        {
            TokenKind.End => "end of file",
            TokenKind.Newline => "end of line",
            TokenKind.Symbol => ":" + token.Text,
            TokenKind.Label => token.Text + ":",
            TokenKind.String => Quote(token.Text),
            _ => token.Text,
        };

        private static string Quote(string text) => text.StartsWith(':') ? text : $"'{text}'";
    }
}
