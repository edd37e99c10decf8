using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace CiRunner.Cli;

/// <summary>
/// A command line that does not parse: one line per bad value on standard error, naming the option, argument or verb
/// and what to give instead, and exit code <see cref="ExitCode"/>; no help screen, no stack trace. The one place that
/// turns System.CommandLine's parse errors into that form, for every verb.
/// </summary>
internal static partial class BadInput
{
    /// <summary>Exit code of a command line that does not parse (unknown verb or option, missing or bad value).</summary>
    public const int ExitCode = 2;

    private const string Program = "cirunner";

    /// <summary>True when System.CommandLine would answer the command line with its error screen (not for --help with errors).</summary>
    public static bool Applies(ParseResult parseResult) => parseResult.Action is ParseErrorAction;

    /// <summary>Writes the lines of <see cref="Describe(ParseResult)"/> to the invocation's error writer and returns <see cref="ExitCode"/>.</summary>
    public static async Task<int> ReportAsync(ParseResult parseResult, TextWriter error)
    {
        foreach (string line in Describe(parseResult))
        {
            await error.WriteLineAsync(line);
        }

        return ExitCode;
    }

    /// <summary>One line per problem: the parsers' and validators' own lines as they are, the library's reworded.</summary>
    public static IReadOnlyList<string> Describe(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var lines = new List<string>();

        // An unknown word explains the errors after it (its would-be value, "no verb given"): the first one is reported.
        if (parseResult.UnmatchedTokens.Count > 0)
        {
            lines.Add(Unmatched(parseResult.CommandResult, parseResult.UnmatchedTokens[0]));
        }

        foreach (ParseError error in parseResult.Errors)
        {
            string? line = IsOwn(error.Message) ? error.Message : error.SymbolResult switch
            {
                CommandResult when parseResult.UnmatchedTokens.Count > 0 => null,
                CommandResult { Command: { Action: null, Subcommands.Count: > 0 } } command => $"{Path(command)}: no verb given; give one of {Verbs(command.Command)}",
                OptionResult option => Describe(option, error),
                ArgumentResult argument => Describe(argument, error),
                _ => $"{Program}: {error.Message}",
            };
            if (line is not null && !lines.Contains(line))
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    private static string Unmatched(CommandResult command, string token)
    {
        string path = Path(command);
        if (token.StartsWith('-') && token.Length > 1)
        {
            return $"{token}: not an option of {path}; its options are {string.Join(", ", Options(command))} ({path} --help)";
        }

        return command.Command.Subcommands.Count > 0
            ? $"{path}: '{token}' is not a verb; give one of {Verbs(command.Command)}"
            : $"{path}: unexpected argument '{token}'; usage: {Usage(command)}";
    }

    private static string Describe(OptionResult result, ParseError error)
    {
        Option option = result.Option;
        string path = Path((CommandResult)result.Parent!);
        if (result.Tokens.Count == 0)
        {
            return result.Implicit
                ? $"{option.Name}: missing; give {Expected(option.Description)}"
                : $"{option.Name}: no value; give one after it ({path} --help says what it takes)";
        }

        return result.Tokens.Count > option.Arity.MaximumNumberOfValues
            ? $"{option.Name}: given {result.Tokens.Count} times ({Quoted(result.Tokens)}); give it once"
            : $"{option.Name}: {Quoted(result.Tokens)} is not valid: {error.Message}";
    }

    private static string Describe(ArgumentResult result, ParseError error)
    {
        string name = CliValues.Name(result);
        return result.Tokens.Count == 0
            ? $"{name}: missing; give {Expected(result.Argument.Description)}"
            : $"{name}: {Quoted(result.Tokens)} is not valid: {error.Message}";
    }

    /// <summary>A message that already starts with the option or argument it is about, as <see cref="CliValues"/> writes them.</summary>
    private static bool IsOwn(string message) => OwnMessage().IsMatch(message);

    /// <summary>A description as the end of a sentence: "The run's id, as listed." becomes "the run's id, as listed".</summary>
    private static string Expected(string? description) =>
        string.IsNullOrWhiteSpace(description) ? "a value" : char.ToLowerInvariant(description[0]) + description[1..].TrimEnd('.');

    private static string Quoted(IReadOnlyList<Token> tokens) => string.Join(", ", tokens.Select(t => $"'{t.Value}'"));

    /// <summary>"cirunner images build": the verbs from the root, whatever the executable is called (testhost in tests).</summary>
    private static string Path(CommandResult command)
    {
        var names = new List<string>();
        for (CommandResult? current = command; current is not null; current = current.Parent as CommandResult)
        {
            names.Insert(0, current.Parent is null ? Program : current.Command.Name);
        }

        return string.Join(' ', names);
    }

    private static string Verbs(Command command) => string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));

    private static IEnumerable<string> Options(CommandResult command)
    {
        IEnumerable<Option> own = command.Command.Options;
        for (CommandResult? parent = command.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            own = own.Concat(parent.Command.Options.Where(o => o.Recursive));
        }

        return own.Where(o => !o.Hidden && o is not HelpOption and not VersionOption).Select(o => o.Name).Distinct(StringComparer.Ordinal);
    }

    private static string Usage(CommandResult command) =>
        string.Join(' ', new[] { Path(command) }.Concat(command.Command.Arguments.Select(a => $"<{a.Name}>")).Append("[options]"));

    // "--url: ...", "--branch/--commit: ...", "<run-id>: ...".
    [GeneratedRegex(@"^(--?[\w-]+(/--?[\w-]+)*|<[\w-]+>): ", RegexOptions.CultureInvariant)]
    private static partial Regex OwnMessage();
}
