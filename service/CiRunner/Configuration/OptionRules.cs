using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>
/// A rule on one option, declared once on the options class. <see cref="ValidationAttribute.ErrorMessage"/> is the fix
/// (what would have been accepted): the validator reports it when the value breaks the rule, and the loader reports it
/// when the value is not even of the option's type (<c>two</c> for a number). A failure names its member, so the loader
/// can point at the key: <c>Docker:ParallelJobs: 'two' is not valid; expected a whole number from 1 to 64</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public abstract class OptionRuleAttribute : ValidationAttribute
{
    /// <summary>The fix an error states.</summary>
    public string Fix => ErrorMessage ?? "";

    protected abstract bool Accepts(object value);

    /// <summary>The fix for this value; rules whose fix depends on the value (a cron's parse error) override it.</summary>
    protected virtual string FixFor(object value) => Fix;

    protected sealed override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        return value is null || Accepts(value)
            ? ValidationResult.Success
            : new ValidationResult(FixFor(value), validationContext.MemberName is { } member ? [member] : []);
    }
}

/// <summary>A whole number from <see cref="Minimum"/> to <see cref="Maximum"/>.</summary>
public sealed class WholeNumberAttribute(int minimum, int maximum) : OptionRuleAttribute
{
    public int Minimum { get; } = minimum;

    public int Maximum { get; } = maximum;

    protected override bool Accepts(object value) => value is int number && number >= Minimum && number <= Maximum;
}

/// <summary>A number greater than <see cref="MinimumExclusive"/> and at most <see cref="Maximum"/>.</summary>
public sealed class NumberAttribute(double minimumExclusive, double maximum) : OptionRuleAttribute
{
    public double MinimumExclusive { get; } = minimumExclusive;

    public double Maximum { get; } = maximum;

    protected override bool Accepts(object value) => value is double number && number > MinimumExclusive && number <= Maximum;
}

/// <summary>A duration within <see cref="Minimum"/> and <see cref="Maximum"/>, both written as durations (<c>5s</c>, <c>24h</c>).</summary>
public sealed class DurationAttribute : OptionRuleAttribute
{
    public string Minimum { get; set; } = "0s";

    public bool MinimumIsExclusive { get; set; }

    public string? Maximum { get; set; }

    protected override bool Accepts(object value) =>
        value is TimeSpan duration
        && (MinimumIsExclusive ? duration > Parse(Minimum) : duration >= Parse(Minimum))
        && (Maximum is null || duration <= Parse(Maximum));

    private static TimeSpan Parse(string text) =>
        Duration.TryParse(text, out TimeSpan value) ? value : throw new InvalidOperationException($"'{text}' is not a duration.");
}

/// <summary>Text that matches <see cref="Pattern"/> as a whole.</summary>
public sealed class MatchesAttribute(string pattern) : OptionRuleAttribute
{
    private readonly Regex _regex = new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    public string Pattern { get; } = pattern;

    protected override bool Accepts(object value) => value is string text && _regex.IsMatch(text);
}

/// <summary>What kind of text an option holds, for rules that a predicate decides.</summary>
public enum TextKind
{
    /// <summary>A file or directory path, absolute or relative.</summary>
    Path,

    /// <summary><c>unix://</c>, <c>tcp://host:port</c> or <c>npipe://</c>.</summary>
    DockerEndpoint,

    /// <summary>An http(s) URL Kestrel can listen on (<c>*</c> and <c>+</c> hosts allowed).</summary>
    ListenUrl,

    /// <summary>An http(s) URL without a login, query or fragment.</summary>
    HttpUrl,

    /// <summary>An http(s) base URL of Gerrit: an <see cref="HttpUrl"/> not ending in <c>/a</c> (the authenticated prefix).</summary>
    GerritUrl,

    /// <summary>An environment variable's name.</summary>
    EnvironmentVariable,

    /// <summary>Non-empty text without spaces (a Docker network mode).</summary>
    Word,
}

/// <summary>Text of a <see cref="TextKind"/>.</summary>
public sealed class TextAttribute(TextKind kind) : OptionRuleAttribute
{
    public TextKind Kind { get; } = kind;

    protected override bool Accepts(object value) => value is string text && Kind switch
    {
        TextKind.Path => OptionValues.IsPath(text),
        TextKind.DockerEndpoint => OptionValues.IsDockerEndpoint(text),
        TextKind.ListenUrl => OptionValues.IsListenUrl(text),
        TextKind.HttpUrl => OptionValues.IsHttpUrl(text),
        TextKind.GerritUrl => OptionValues.IsHttpUrl(text) && !text.TrimEnd('/').EndsWith("/a", StringComparison.Ordinal),
        TextKind.EnvironmentVariable => OptionValues.IsEnvironmentVariableName(text),
        TextKind.Word => text.Length > 0 && !text.Any(char.IsWhiteSpace),
        _ => false,
    };
}

/// <summary>A Quartz cron expression; the fix names Quartz's own objection.</summary>
public sealed class QuartzCronAttribute : OptionRuleAttribute
{
    protected override bool Accepts(object value) => value is string cron && OptionValues.CronProblem(cron) is null;

    protected override string FixFor(object value) => $"{Fix} ({OptionValues.CronProblem((string)value)})";
}

/// <summary>What each item of a list option must be.</summary>
public enum ItemKind
{
    /// <summary>A Linux capability name (<c>NET_RAW</c>, <c>CAP_NET_RAW</c>) or <c>ALL</c>.</summary>
    Capability,

    /// <summary>A branch name or a pattern with <c>*</c>.</summary>
    BranchPattern,
}

/// <summary>
/// A list whose items are each of an <see cref="ItemKind"/>: every bad item is a failure of its own member
/// (<c>DropCapabilities:1</c>) with <see cref="ValidationAttribute.ErrorMessage"/> as its fix. <see cref="ListFix"/>
/// is what the whole value should be (a JSON array); with <see cref="EmptyFix"/>, an empty list is a failure too.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListOfAttribute(ItemKind kind) : ValidationAttribute
{
    public ItemKind Kind { get; } = kind;

    public string ListFix { get; set; } = "a JSON array";

    public string? EmptyFix { get; set; }

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        if (value is not IReadOnlyList<string> items)
        {
            return ValidationResult.Success;
        }

        string member = validationContext.MemberName ?? "";
        if (items.Count == 0)
        {
            return EmptyFix is null ? ValidationResult.Success : new ValidationResult(EmptyFix, [member]);
        }

        string[] bad = [.. items.Index().Where(item => !Accepts(item.Item)).Select(item => $"{member}:{item.Index}")];
        return bad.Length == 0 ? ValidationResult.Success : new ValidationResult(ErrorMessage, bad);
    }

    private bool Accepts(string item) => Kind switch
    {
        ItemKind.Capability => OptionValues.IsCapability(item),
        ItemKind.BranchPattern => BranchPattern.TryParse(item, out _),
        _ => false,
    };
}

/// <summary>An option the loader reads itself, because its rule needs more than the section (scenario names, say).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ReadByLoaderAttribute : Attribute;
