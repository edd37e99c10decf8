using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CiRunner.Execution;

/// <summary>
/// Reads the changed resources out of Puppet's <c>last_run_report.yaml</c> (pure: text in, values out).
/// </summary>
/// <remarks>
/// The report is a serialized Ruby object: its nodes carry tags such as <c>!ruby/object:Puppet::Transaction::Report</c>.
/// A typed YamlDotNet deserializer rejects tags it does not know, so the report is loaded into the representation
/// model, which keeps tags as data and resolves no types.
/// </remarks>
public static partial class PuppetReportParser
{
    /// <summary>The resources the run changed, one row per changed property, in report order.</summary>
    /// <exception cref="FormatException">The text is not YAML or has no <c>resource_statuses</c> mapping.</exception>
    public static IReadOnlyList<IdempotencyChange> ParseChanges(string reportYaml)
    {
        ArgumentNullException.ThrowIfNull(reportYaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(reportYaml));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"Puppet report is not valid YAML: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FormatException("Puppet report has no top-level mapping.");
        }

        if (Child(root, "resource_statuses") is not YamlMappingNode statuses)
        {
            throw new FormatException("Puppet report has no resource_statuses mapping.");
        }

        var changes = new List<IdempotencyChange>();
        foreach ((YamlNode key, YamlNode value) in statuses.Children)
        {
            if (value is not YamlMappingNode status || !string.Equals(Scalar(status, "changed"), "true", StringComparison.Ordinal))
            {
                continue;
            }

            string reference = (key as YamlScalarNode)?.Value ?? "";
            string type = Scalar(status, "resource_type") ?? TypeOf(reference);

            // stdlib's anchors do nothing: one marked changed only passed a refresh on from a real change listed anyway.
            if (string.Equals(type, "Anchor", StringComparison.Ordinal))
            {
                continue;
            }

            string title = Scalar(status, "title") ?? TitleOf(reference);
            string? file = Scalar(status, "file");
            int? line = int.TryParse(Scalar(status, "line"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed) ? parsed : null;
            string? module = ModuleOf(file);

            int before = changes.Count;
            if (Child(status, "events") is YamlSequenceNode events)
            {
                foreach (YamlMappingNode evt in events.Children.OfType<YamlMappingNode>())
                {
                    // Only events that changed something; "failure", "noop" and "audit" events are not changes.
                    if (!string.Equals(Scalar(evt, "status"), "success", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    string? property = Scalar(evt, "property");
                    bool secret = IsSecret(property);
                    changes.Add(new IdempotencyChange(
                        type,
                        title,
                        property,
                        Redacted(Render(Child(evt, "previous_value")), secret),
                        Redacted(Render(Child(evt, "desired_value")), secret),
                        module,
                        file,
                        line));
                }
            }

            if (changes.Count == before)
            {
                changes.Add(new IdempotencyChange(type, title, null, null, null, module, file, line));
            }
        }

        return changes;
    }

    /// <summary>
    /// Whether a property holds a secret. Puppet redacts only values its module marks Sensitive, and many providers
    /// (keystone_user's password in the Zed modules) do not, so the report carries the plain value; it must not reach
    /// logs, pages, reviews or the database. "absent" stays readable: that a secret was unset is the finding.
    /// </summary>
    public static bool IsSecret(string? property) =>
        property is not null
        && (property.Contains("password", StringComparison.OrdinalIgnoreCase)
            || property.Contains("secret", StringComparison.OrdinalIgnoreCase)
            || property.Contains("token", StringComparison.OrdinalIgnoreCase));

    private static string? Redacted(string? value, bool secret) =>
        secret && value is not null && value != "absent" ? "(redacted)" : value;

    /// <summary>The module folder in <c>/cirunner/modules/&lt;module&gt;/...</c>; null for scenario manifests and unknown paths.</summary>
    public static string? ModuleOf(string? manifestPath)
    {
        if (string.IsNullOrEmpty(manifestPath))
        {
            return null;
        }

        Match match = ModulePathPattern().Match(manifestPath);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? child) ? child : null;

    private static string? Scalar(YamlMappingNode node, string key) =>
        Child(node, key) is YamlScalarNode scalar && !IsNull(scalar) ? scalar.Value : null;

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == ScalarStyle.Plain && (string.IsNullOrEmpty(scalar.Value) || scalar.Value is "~" or "null");

    private static string? Render(YamlNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode scalar:
                return IsNull(scalar) ? null : DecodeChecksum(scalar.Value!);
            case YamlSequenceNode sequence:
                return "[" + string.Join(", ", sequence.Children.Select(c => Render(c) ?? "")) + "]";
            default:
                // Hashes (rare as property values) are kept in flow form so the row still says what changed.
                return node.ToString();
        }
    }

    /// <summary>
    /// Puppet 7 writes a File's desired <c>content</c> checksum as a binary (ASCII-8BIT) Ruby string, which
    /// lands in the YAML as bare base64 (<c>e3NoYTI1Nn1...</c> for <c>{sha256}...</c>). Decode only that shape,
    /// so real values that happen to be base64 stay as they are.
    /// </summary>
    private static string DecodeChecksum(string value)
    {
        if (value.Length < 16 || value.Length % 4 != 0)
        {
            return value;
        }

        byte[] buffer = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, buffer, out int written))
        {
            return value;
        }

        string decoded = Encoding.ASCII.GetString(buffer, 0, written);
        return ChecksumPattern().IsMatch(decoded) ? decoded : value;
    }

    private static string TypeOf(string reference)
    {
        int open = reference.IndexOf('[', StringComparison.Ordinal);
        return open > 0 ? reference[..open] : reference;
    }

    private static string TitleOf(string reference)
    {
        int open = reference.IndexOf('[', StringComparison.Ordinal);
        return open > 0 && reference.EndsWith(']') ? reference[(open + 1)..^1] : reference;
    }

    [GeneratedRegex("^/cirunner/modules/([^/]+)/")]
    private static partial Regex ModulePathPattern();

    [GeneratedRegex("^\\{[a-z0-9_]+\\}[0-9a-f]+$")]
    private static partial Regex ChecksumPattern();
}
