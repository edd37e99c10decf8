using System.Globalization;

namespace CiRunner.Configuration;

/// <summary>Where a value is, as an error names it: the file (or <c>environment</c>) and the key or line in it.</summary>
internal readonly record struct ValueLocation(string File, string Location);

/// <summary>
/// A value as its source holds it: the scalar text (null when it is a list or an object), how to show it in an error
/// when it is not a scalar (<c>(an object)</c>, <c>a mapping</c>), and where it is.
/// </summary>
internal readonly record struct RawValue(string? Text, string Shown, ValueLocation At);

/// <summary>
/// Typed reads of raw values (text, whole numbers, numbers, booleans, durations, lists) that turn every bad value into a
/// <see cref="ConfigurationError"/> saying where it is, the value and what would be accepted, and then carry on, so that
/// one pass finds every error. The configuration (keys, environment variables) and scenario files (lines) share it;
/// each knows only how to find its raw values.
/// </summary>
internal sealed class ErrorCollectingReader
{
    private const string BoolExpected = "true or false";

    private readonly bool _oneErrorPerLocation;
    private readonly HashSet<ValueLocation> _reported = new(LocationComparer.Instance);

    /// <param name="oneErrorPerLocation">
    /// Report only the first error at each location (configuration keys: a value that is both secret and malformed is
    /// reported once, as a secret). Scenario files report every item on a line, so they leave it off.
    /// </param>
    public ErrorCollectingReader(bool oneErrorPerLocation = false)
    {
        _oneErrorPerLocation = oneErrorPerLocation;
    }

    /// <summary>Every error so far, in the order found.</summary>
    public List<ConfigurationError> Errors { get; } = [];

    public void Error(ValueLocation at, string? value, string expected)
    {
        if (!_reported.Add(at) && _oneErrorPerLocation)
        {
            return;
        }

        Errors.Add(new ConfigurationError(at.File, at.Location, value, expected));
    }

    /// <summary>Whether an error was reported at <paramref name="at"/> (only tracked with one error per location).</summary>
    public bool IsReported(ValueLocation at) => _oneErrorPerLocation && _reported.Contains(at);

    /// <summary>The text of a scalar that <paramref name="isValid"/> accepts; null (and an error) otherwise.</summary>
    public string? Text(RawValue value, Func<string, bool> isValid, string expected)
    {
        if (value.Text is null)
        {
            Error(value.At, value.Shown, expected);
            return null;
        }

        if (!isValid(value.Text))
        {
            Error(value.At, value.Text, expected);
            return null;
        }

        return value.Text;
    }

    /// <summary>
    /// A whole number from <paramref name="min"/> to <paramref name="max"/>; null (and an error) otherwise. Configuration
    /// accepts a sign and surrounding spaces (<see cref="NumberStyles.Integer"/>); scenario files digits only.
    /// </summary>
    public int? WholeNumber(RawValue value, string expected, int min = int.MinValue, int max = int.MaxValue, NumberStyles styles = NumberStyles.Integer)
    {
        string? text = Text(value, _ => true, expected);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, styles, CultureInfo.InvariantCulture, out int number) && number >= min && number <= max)
        {
            return number;
        }

        Error(value.At, text, expected);
        return null;
    }

    /// <summary>A finite number (fractions allowed) that <paramref name="isValid"/> accepts; null (and an error) otherwise.</summary>
    public double? Number(RawValue value, string expected, Func<double, bool>? isValid = null)
    {
        string? text = Text(value, _ => true, expected);
        if (text is null)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) && double.IsFinite(number) && (isValid?.Invoke(number) ?? true))
        {
            return number;
        }

        Error(value.At, text, expected);
        return null;
    }

    /// <summary><c>true</c> or <c>false</c>; null (and an error) otherwise.</summary>
    public bool? Bool(RawValue value)
    {
        string? text = Text(value, _ => true, BoolExpected);
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out bool flag))
        {
            return flag;
        }

        Error(value.At, text, BoolExpected);
        return null;
    }

    /// <summary>A <see cref="Matrix.Duration"/> (<c>30s</c>, <c>1h30m</c>, <c>00:10:00</c>) that <paramref name="isValid"/> accepts; null (and an error) otherwise.</summary>
    public TimeSpan? Duration(RawValue value, string expected, Func<TimeSpan, bool>? isValid = null)
    {
        string? text = Text(value, _ => true, expected);
        if (text is null)
        {
            return null;
        }

        if (Matrix.Duration.TryParse(text, out TimeSpan duration) && (isValid?.Invoke(duration) ?? true))
        {
            return duration;
        }

        Error(value.At, text, expected);
        return null;
    }

    /// <summary>
    /// The items of a list that are scalars <paramref name="isValid"/> accepts, each with its location; every other item
    /// is reported (items already reported, a secret say, are left out silently).
    /// </summary>
    public List<(string Text, ValueLocation At)> Texts(IEnumerable<RawValue> items, string expected, Func<string, bool>? isValid = null)
    {
        var texts = new List<(string Text, ValueLocation At)>();
        foreach (RawValue item in items)
        {
            if (IsReported(item.At))
            {
                continue;
            }

            if (Text(item, isValid ?? (_ => true), expected) is { } text)
            {
                texts.Add((text, item.At));
            }
        }

        return texts;
    }

    // Configuration keys are not case-sensitive, and an error's key may come from the file or from code.
    private sealed class LocationComparer : IEqualityComparer<ValueLocation>
    {
        public static readonly LocationComparer Instance = new();

        public bool Equals(ValueLocation x, ValueLocation y) =>
            StringComparer.Ordinal.Equals(x.File, y.File) && StringComparer.OrdinalIgnoreCase.Equals(x.Location, y.Location);

        public int GetHashCode(ValueLocation obj) => HashCode.Combine(StringComparer.Ordinal.GetHashCode(obj.File), StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Location));
    }
}
