using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

/// <summary>
/// Binds one configuration section to its options class and runs the section's validator (the one
/// <c>IOptions&lt;T&gt;</c> runs at start), turning every failure into a <see cref="ConfigurationError"/> at its key with
/// the bad value as written. Values are converted here rather than by the configuration binder, which throws at the first
/// value of the wrong type; every error in the section is found in one pass.
/// </summary>
internal static class OptionsBinder
{
    /// <summary>The keys an options class accepts: its settable properties, in declaration order.</summary>
    public static string[] KeysOf<T>() => [.. Properties(typeof(T)).Select(p => p.Name)];

    /// <summary>
    /// Binds <paramref name="section"/> (defaults where a key is absent), validates, and reports. A member that is wrong
    /// keeps its default, so that <paramref name="check"/> (checks that need the file system, run last) sees what would
    /// otherwise apply. The section's errors are reported in the order its options are declared.
    /// </summary>
    public static T Bind<T>(ConfigurationReader reader, string section, IValidateOptions<T> validator, Action<T>? check = null)
        where T : class, new()
    {
        int errorsBefore = reader.Errors.Count;
        var options = new T();
        var defaults = new T();
        PropertyInfo[] properties = Properties(typeof(T));
        var failed = new HashSet<string>(StringComparer.Ordinal);

        // The key of each list item the validator sees (DropCapabilities:1), where items of the wrong type were left out.
        var itemKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (PropertyInfo property in properties.Where(p => p.GetCustomAttribute<ReadByLoaderAttribute>() is null))
        {
            string key = $"{section}:{property.Name}";
            if (reader.IsReported(key))
            {
                failed.Add(property.Name);
            }
            else if (TryRead(reader, key, property, itemKeys, out object? value))
            {
                if (value is null)
                {
                    failed.Add(property.Name);
                }
                else
                {
                    property.SetValue(options, value);
                }
            }
        }

        if (validator.Validate(null, options) is { Failed: true, Failures: { } failures })
        {
            // Rules on one member first: a rule across members (jitter within the interval) only speaks once both are valid.
            foreach ((string[] members, string fix) in failures.Select(Parse).OrderBy(f => f.Members.Length > 1 && !f.Members[0].Contains(':', StringComparison.Ordinal)))
            {
                Report(reader, section, properties, itemKeys, members, fix, failed);
            }
        }

        foreach (PropertyInfo property in properties.Where(p => failed.Contains(p.Name)))
        {
            property.SetValue(options, property.GetValue(defaults));
        }

        check?.Invoke(options);
        SortBySection(reader.Errors, errorsBefore, section, properties);
        return options;
    }

    private static void Report(ConfigurationReader reader, string section, PropertyInfo[] properties, Dictionary<string, string> itemKeys, string[] members, string fix, HashSet<string> failed)
    {
        string Top(string member) => member.Split(':')[0];
        if (!members.All(m => properties.Any(p => p.Name == Top(m))))
        {
            reader.Error(section, null, string.Join(", ", members) + ": " + fix);
            return;
        }

        // Items of a list fail each on its own key; the members of a cross-member rule are reported at the first.
        bool items = members[0].Contains(':', StringComparison.Ordinal);
        if (!items && members.Skip(1).Any(failed.Contains))
        {
            return;
        }

        foreach (string member in items ? members : members.Take(1))
        {
            string key = itemKeys.GetValueOrDefault(member) ?? $"{section}:{member}";
            string? shown = reader.Raw(key)?.Text;
            bool isList = properties.First(p => p.Name == Top(member)).PropertyType == typeof(List<string>) && !items;
            reader.Error(key, isList && shown is "" ? "[]" : shown, fix);
            failed.Add(Top(member));
        }
    }

    // False when the key is absent; otherwise the value, or null when it was wrong (and reported).
    private static bool TryRead(ConfigurationReader reader, string key, PropertyInfo property, Dictionary<string, string> itemKeys, out object? value)
    {
        Type type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        string fix = property.GetCustomAttributes<ValidationAttribute>().Select(a => a.ErrorMessage).FirstOrDefault(m => m is not null) ?? "a text value";
        if (type == typeof(List<string>))
        {
            string listFix = property.GetCustomAttribute<ListOfAttribute>()?.ListFix ?? "a JSON array of text values";
            List<(string Text, string Key)>? items = reader.StringItems(key, listFix, _ => true, fix);
            foreach ((int index, (_, string itemKey)) in items?.Index() ?? [])
            {
                itemKeys[$"{property.Name}:{index}"] = itemKey;
            }

            value = items?.ConvertAll(item => item.Text);
            return value is not null || reader.IsReported(key);
        }

        value = null;
        if (reader.Raw(key) is not { } raw)
        {
            return false;
        }

        ErrorCollectingReader values = reader.Values;
        value = type switch
        {
            _ when type == typeof(string) => values.Text(raw, _ => true, fix),
            _ when type == typeof(int) => values.WholeNumber(raw, fix),
            _ when type == typeof(double) => values.Number(raw, fix),
            _ when type == typeof(bool) => values.Bool(raw),
            _ when type == typeof(TimeSpan) => values.Duration(raw, fix),
            _ => throw new InvalidOperationException($"{property.DeclaringType?.Name}.{property.Name}: options of type {type.Name} are read by the loader; mark it [ReadByLoader]."),
        };
        return true;
    }

    // "ParallelJobs: a whole number from 1 to 64" (ValidateOptionsResultBuilder's form) into its members and its fix.
    private static (string[] Members, string Fix) Parse(string failure)
    {
        int colon = failure.IndexOf(": ", StringComparison.Ordinal);
        return colon < 0 ? ([], failure) : (failure[..colon].Split(", "), failure[(colon + 2)..]);
    }

    // Errors within a section in the order its options are declared (list items in list order), as a reader of the file meets them.
    private static void SortBySection(List<ConfigurationError> errors, int start, string section, PropertyInfo[] properties)
    {
        (int Property, int Item) Order(ConfigurationError error)
        {
            string key = error.Location.Replace(ConfigurationLoader.EnvironmentPrefix, "", StringComparison.Ordinal).Replace("__", ":", StringComparison.Ordinal);
            string[] parts = key.Split(':');
            int property = parts.Length < 2 || !parts[0].Equals(section, StringComparison.OrdinalIgnoreCase)
                ? -1
                : Array.FindIndex(properties, p => p.Name.Equals(parts[1], StringComparison.OrdinalIgnoreCase));
            int item = parts.Length > 2 && int.TryParse(parts[2], CultureInfo.InvariantCulture, out int index) ? index : -1;
            return (property < 0 ? int.MaxValue : property, item);
        }

        List<ConfigurationError> sorted = [.. errors.Skip(start).OrderBy(Order)];
        errors.RemoveRange(start, sorted.Count);
        errors.AddRange(sorted);
    }

    private static PropertyInfo[] Properties(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic).OrderBy(p => p.MetadataToken)];
}
