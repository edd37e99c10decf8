using System.Globalization;
using System.Text.RegularExpressions;

namespace CiRunner.Matrix;

/// <summary>
/// Durations as people write them in scenario files and settings: <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1h30m</c>, <c>90d</c>,
/// or TimeSpan's invariant <c>hh:mm:ss</c> (<c>1.00:00:00</c> for a day).
/// </summary>
public static partial class Duration
{
    public const string Expected = "a duration like 30s, 5m, 1h30m, 90d or 00:10:00";

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();

        // TimeSpan alone would read "5" as five days; a colon makes the hh:mm:ss intent explicit.
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
        }

        Match match = ShortForm().Match(text);
        if (!match.Success || match.Length == 0)
        {
            return false;
        }

        try
        {
            value = TimeSpan.FromDays(Part(match, "d")) + TimeSpan.FromHours(Part(match, "h")) + TimeSpan.FromMinutes(Part(match, "m")) + TimeSpan.FromSeconds(Part(match, "s"));
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>The short form for display: <c>1h30m</c>, <c>45s</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        if (value.Milliseconds != 0 || value < TimeSpan.Zero)
        {
            return value.ToString("c", CultureInfo.InvariantCulture);
        }

        var text = new System.Text.StringBuilder();
        long hours = (long)value.TotalHours;
        if (hours > 0)
        {
            text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (value.Minutes > 0)
        {
            text.Append(value.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        if (value.Seconds > 0)
        {
            text.Append(value.Seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
        }

        return text.ToString();
    }

    private static long Part(Match match, string group) =>
        match.Groups[group].Success ? long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"^(?:(?<d>\d{1,5})d)?(?:(?<h>\d{1,6})h)?(?:(?<m>\d{1,6})m)?(?:(?<s>\d{1,8})s)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ShortForm();
}
