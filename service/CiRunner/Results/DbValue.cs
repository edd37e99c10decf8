using System.Globalization;

namespace CiRunner.Results;

/// <summary>How values are written to and read from the database; the one place that knows the text formats.</summary>
internal static class DbValue
{
    // Fixed width, so that text order is time order; the same text SQLite's strftime('%Y-%m-%dT%H:%M:%fZ') gives.
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Now, cut to what the database keeps, so records returned by writes equal those read back.</summary>
    public static DateTimeOffset Now(TimeProvider timeProvider) => Truncate(timeProvider.GetUtcNow());

    /// <summary>A time in UTC, cut to the milliseconds the database keeps.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static string? Time(DateTimeOffset? value) => value is { } time ? Time(time) : null;

    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static DateTimeOffset? ParseOptionalTime(string? text) => text is null ? null : ParseTime(text);

    public static long Milliseconds(TimeSpan duration) => (long)duration.TotalMilliseconds;

    public static TimeSpan? Duration(long? milliseconds) =>
        milliseconds is { } value ? TimeSpan.FromMilliseconds(value) : null;

    /// <summary>Enum members are stored as their wire names (<c>PatchSet</c> is <c>patchset</c>; see <see cref="WireNames"/>).</summary>
    public static string Text<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        WireNames.Name(value);

    public static string? Text<TEnum>(TEnum? value)
        where TEnum : struct, Enum =>
        value is { } member ? Text(member) : null;

    public static TEnum Parse<TEnum>(string text)
        where TEnum : struct, Enum =>
        WireNames.TryParseWire(text, out TEnum value)
            ? value
            : throw new FormatException($"'{text}' in the results database is not a {typeof(TEnum).Name}; was it written by a newer CiRunner?");

    public static TEnum? ParseOptional<TEnum>(string? text)
        where TEnum : struct, Enum =>
        text is null ? null : Parse<TEnum>(text);
}
