using System.Text;

namespace CiRunner.Configuration;

// The tokenizer: Puppetfile text to words, symbols, labels, strings and punctuation, with line numbers.
public static partial class PuppetfileParser
{
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
}
