using System.Globalization;
using CiRunner.Matrix;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace CiRunner.Configuration;

/// <summary>
/// The configuration side of <see cref="ErrorCollectingReader"/>: finds each key's raw value and where it came from
/// (the file, or the <c>CIRUNNER__</c> variable that overrides it), and leaves converting to the shared reader, so that a
/// wrong type becomes a <see cref="ConfigurationError"/> naming the key and the value (the binder would throw on the
/// first one and stop) and every error is collected rather than only the first. Also rejects secrets and unknown keys.
/// </summary>
internal sealed class ConfigurationReader
{
    private readonly IConfiguration _configuration;
    private readonly string _configFile;

    // One error per key: a value that is both secret and malformed is reported once, as a secret.
    private readonly ErrorCollectingReader _values = new(oneErrorPerLocation: true);

    public ConfigurationReader(IConfiguration configuration, string configFile)
    {
        _configuration = configuration;
        _configFile = configFile;
    }

    public List<ConfigurationError> Errors => _values.Errors;

    /// <summary>Typed reads of raw values, for the options binder.</summary>
    public ErrorCollectingReader Values => _values;

    public void Error(string key, string? value, string expected) => _values.Error(SourceOf(key), value, expected);

    public bool IsReported(string key) => _values.IsReported(SourceOf(key));

    /// <summary>
    /// Whether the key is set at all. An empty JSON array or <c>null</c> is stored as a key without a value, which
    /// <see cref="ConfigurationExtensions.Exists"/> does not see; the providers do.
    /// </summary>
    public bool IsPresent(string key)
    {
        if (_configuration.GetSection(key).Exists())
        {
            return true;
        }

        return _configuration is IConfigurationRoot root && root.Providers.Any(p => p.TryGet(key, out _));
    }

    /// <summary>Reports every key that looks like a literal secret, anywhere in the configuration.</summary>
    public void RejectSecrets(string apiTokenVariable)
    {
        foreach ((string key, string? value) in _configuration.AsEnumerable().OrderBy(p => p.Key, ConfigurationKeyComparer.Instance))
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            string name = key[(key.LastIndexOf(':') + 1)..];
            if (IsSecretName(name))
            {
                string expected = key.StartsWith(HttpOptions.SectionName + ":", StringComparison.OrdinalIgnoreCase)
                    ? $"no token in configuration: the API token is read only from the environment variable named by Http:ApiTokenVariable ({apiTokenVariable}) or from the file named by Http:ApiTokenFile (readable only by the service's user)"
                    : key.StartsWith(ModuleOptions.SectionName + ":", StringComparison.OrdinalIgnoreCase)
                        ? "no secret in configuration: put it in an environment variable and give that variable's name in Credentials:UsernameVariable / Credentials:PasswordVariable, or in a file readable only by the service's user named by Credentials:UsernameFile / Credentials:PasswordFile"
                        : "no secret in configuration: put it in an environment variable (or a file only the service's user can read) and configure its name instead";
                Error(key, ConfigurationError.Redacted, expected);
            }
            else if (UrlCredentials.HasPassword(value))
            {
                Error(key, UrlCredentials.Redact(value), "a URL without user:password@; put the login in environment variables named by Credentials:UsernameVariable and Credentials:PasswordVariable");
            }
        }
    }

    /// <summary>
    /// The key's raw value; null when the key is absent or holds JSON <c>null</c>. A key holding an object or an array
    /// has no text, and is shown as <c>(an object)</c> in errors.
    /// </summary>
    public RawValue? Raw(string key)
    {
        IConfigurationSection section = _configuration.GetSection(key);
        if (!IsPresent(key) || (section.Value is null && !section.GetChildren().Any()))
        {
            return null;
        }

        return new RawValue(section.Value, "(an object)", SourceOf(key));
    }

    public string? String(string key, string? fallback, Func<string, bool> isValid, string expected, bool required = false)
    {
        if (IsReported(key))
        {
            return fallback;
        }

        if (Raw(key) is not { } raw)
        {
            if (required)
            {
                Error(key, null, expected);
            }

            return fallback;
        }

        return _values.Text(raw, isValid, expected) ?? fallback;
    }

    public int Int(string key, int fallback, int min, int max, string expected) =>
        Read(key, raw => _values.WholeNumber(raw, expected, min, max)) ?? fallback;

    public double Double(string key, double fallback, Func<double, bool> isValid, string expected) =>
        Read(key, raw => _values.Number(raw, expected, isValid)) ?? fallback;

    public bool Bool(string key, bool fallback) => NullableBool(key) ?? fallback;

    public bool? NullableBool(string key) => Read(key, _values.Bool);

    public TimeSpan Duration(string key, TimeSpan fallback, Func<TimeSpan, bool> isValid, string expected) =>
        Read(key, raw => _values.Duration(raw, expected, isValid)) ?? fallback;

    /// <summary>A JSON array of strings; null when the key is absent, empty when it is an empty array.</summary>
    public List<string>? StringList(string key, string expected, Func<string, bool> isValidItem, string itemExpected) =>
        StringItems(key, expected, isValidItem, itemExpected)?.ConvertAll(item => item.Text);

    /// <summary>
    /// As <see cref="StringList"/>, with each item's key (<c>Docker:DropCapabilities:3</c>): once a bad item is left
    /// out, an item's index in the list is no longer the one in its key.
    /// </summary>
    public List<(string Text, string Key)>? StringItems(string key, string expected, Func<string, bool> isValidItem, string itemExpected)
    {
        if (IsReported(key) || !IsPresent(key))
        {
            return null;
        }

        // The JSON provider stores an empty array as an empty string, so "" reads as [] here.
        IConfigurationSection section = _configuration.GetSection(key);
        if (!string.IsNullOrEmpty(section.Value))
        {
            Error(key, section.Value, expected);
            return null;
        }

        List<IConfigurationSection> entries = Entries(key, expected);
        Dictionary<ValueLocation, string> keys = entries.ToDictionary(entry => SourceOf(entry.Path), entry => entry.Path);
        IEnumerable<RawValue> items = entries.Select(entry => new RawValue(entry.Value, "(an object)", SourceOf(entry.Path)));
        return [.. _values.Texts(items, itemExpected, isValidItem).Select(item => (item.Text, keys[item.At]))];
    }

    /// <summary>The raw section, for maps whose keys are names rather than options.</summary>
    public IConfigurationSection Section(string key) => _configuration.GetSection(key);

    /// <summary>The entries of a JSON array in index order; children that are not indexes are reported.</summary>
    public List<IConfigurationSection> Entries(string key, string expected)
    {
        var entries = new List<IConfigurationSection>();
        IConfigurationSection section = _configuration.GetSection(key);
        if (!string.IsNullOrEmpty(section.Value))
        {
            Error(key, section.Value, expected);
            return entries;
        }

        // GetChildren orders index keys numerically, which keeps the configured (upgrade) order.
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                entries.Add(child);
            }
            else
            {
                Error(child.Path, child.Key, $"{key} to be a JSON array ([ ... ]); '{child.Key}' is a name, not an index");
            }
        }

        return entries;
    }

    /// <summary>
    /// Reports keys nobody reads (usually typos, which would otherwise silently fall back to defaults).
    /// False when the key holds a plain value instead of an object, so callers skip reading its keys.
    /// </summary>
    public bool RejectUnknownKeys(string key, IReadOnlyCollection<string> known)
    {
        IConfigurationSection section = _configuration.GetSection(key);
        if (!string.IsNullOrEmpty(section.Value) && !section.GetChildren().Any())
        {
            Error(key, section.Value, $"an object with the keys {string.Join(", ", known)}");
            return false;
        }

        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase) && !IsReported(child.Path))
            {
                Error(child.Path, child.Key, $"one of the keys {string.Join(", ", known)} (keys are not case-sensitive)");
            }
        }

        return true;
    }

    // A typed read of a key that is present and not yet reported; null when absent, reported or wrong.
    private T? Read<T>(string key, Func<RawValue, T?> read)
        where T : struct => IsReported(key) || Raw(key) is not { } raw ? null : read(raw);

    private static bool IsSecretName(string name)
    {
        // `PasswordVariable` and `ApiTokenVariable` name a variable, `PasswordFile` a file, which is exactly what is wanted.
        if (name.EndsWith("Variable", StringComparison.OrdinalIgnoreCase) || name.EndsWith("File", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return name.EndsWith("password", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("connectionstring", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("passwd", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("token", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("secret", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("apikey", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("privatekey", StringComparison.OrdinalIgnoreCase);
    }

    // Names the place to fix: the environment variable when one overrides the file, else the file and key.
    private ValueLocation SourceOf(string key)
    {
        if (_configuration is IConfigurationRoot root)
        {
            foreach (IConfigurationProvider provider in root.Providers.Reverse())
            {
                if (provider.TryGet(key, out _))
                {
                    return provider is EnvironmentVariablesConfigurationProvider
                        ? new ValueLocation("environment", ConfigurationLoader.EnvironmentPrefix + key.Replace(":", "__", StringComparison.Ordinal))
                        : new ValueLocation(_configFile, key);
                }
            }
        }

        return new ValueLocation(_configFile, key);
    }
}
