using CiRunner.Matrix;

namespace CiRunner.Configuration;

// The grammar: statements (forge, moduledir, mod) and a mod's arguments, with recovery after an error.
public static partial class PuppetfileParser
{
    private sealed partial class Parser(List<Token> tokens, string path, List<ConfigurationError> errors)
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
