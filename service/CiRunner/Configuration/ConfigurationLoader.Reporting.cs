using System.Text.RegularExpressions;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

// The reporting sections: Reporting (JUnit, webhooks, retries), Gerrit, and Http:PublicUrl, which reports link to.
public static partial class ConfigurationLoader
{
    private static readonly string[] _webhookKeys = OptionsBinder.KeysOf<WebhookOptions>();

    private static ReportingOptions ReadReporting(ConfigurationReader reader, string baseDirectory)
    {
        const string Section = ReportingOptions.SectionName;
        if (!reader.IsPresent(Section))
        {
            return new ReportingOptions();
        }

        ReportingOptions reporting = ReadSection(reader, Section, new ReportingOptionsValidator());
        string webhooksKey = $"{Section}:Webhooks";
        if (reader.IsPresent(webhooksKey))
        {
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (IConfigurationSection entry in reader.Entries(webhooksKey, "a JSON array of webhooks like [ { \"Name\": \"chat\", \"Url\": \"https://chat.example.org/hook\" } ]"))
            {
                string at = entry.Path;
                if (!reader.RejectUnknownKeys(at, _webhookKeys))
                {
                    continue;
                }

                string? name = reader.String($"{at}:Name", null, WebhookName().IsMatch,
                    "a short name: lower-case letters, digits, '_' or '-', at most 32 characters (it names the webhook in reports and logs)", required: true);
                if (name is not null && !names.TryAdd(name, at))
                {
                    reader.Error($"{at}:Name", name, $"a webhook name not used before (already used by {names[name]})");
                }

                string? url = reader.String($"{at}:Url", null, OptionValues.IsHttpUrl, "an http:// or https:// URL without a login in it", required: true);
                string? secretVariable = reader.String($"{at}:SecretVariable", null, OptionValues.IsEnvironmentVariableName,
                    $"{OptionValues.EnvironmentVariableExpected} that holds the HMAC secret");
                string? secretFile = ReadSecretFile(reader, $"{at}:SecretFile", $"{at}:SecretVariable", baseDirectory, "the webhook's HMAC secret");
                if (name is not null && url is not null)
                {
                    reporting.Webhooks.Add(new WebhookOptions { Name = name, Url = url, SecretVariable = secretVariable, SecretFile = secretFile });
                }
            }
        }

        return reporting;
    }

    /// <param name="reader">The configuration.</param>
    /// <param name="modules">The modules read so far; project names must be theirs.</param>
    /// <param name="scenarios">The scenarios, or null when scenario files had errors (names are then not checked).</param>
    /// <param name="baseDirectory">The configuration file's folder: relative secret files are found from it.</param>
    private static GerritOptions? ReadGerrit(ConfigurationReader reader, List<TrackedModule> modules, IReadOnlyList<Scenario>? scenarios, string baseDirectory)
    {
        const string Section = GerritOptions.SectionName;
        if (!reader.IsPresent(Section))
        {
            return null;
        }

        GerritOptions? gerrit = TryReadSection(reader, Section, new GerritOptionsValidator(), gerrit =>
        {
            gerrit.Url = gerrit.Url.TrimEnd('/');
            gerrit.UsernameFile = CheckSecretFile(reader, $"{Section}:UsernameFile", gerrit.UsernameFile, $"{Section}:UsernameVariable", baseDirectory);
            gerrit.PasswordFile = CheckSecretFile(reader, $"{Section}:PasswordFile", gerrit.PasswordFile, $"{Section}:PasswordVariable", baseDirectory);
        });
        if (gerrit is null)
        {
            return null;
        }

        ReadGerritProjects(reader, $"{Section}:Projects", modules, gerrit.Projects);

        string nonVotingKey = $"{Section}:NonVotingScenarios";
        string scenarioNames = scenarios is null ? "" : string.Join(", ", scenarios.Select(s => s.Name));
        List<string>? nonVoting = reader.StringList(nonVotingKey, "a JSON array of scenario names like [\"scenario004\"]",
            name => scenarios is null || scenarios.Any(s => s.Name == name),
            scenarios is null ? "a scenario name" : $"a scenario name: {scenarioNames}");
        gerrit.NonVotingScenarios = nonVoting ?? [];

        // Only patch-set runs report to Gerrit, and only modules that fetch patch-set refs have them.
        if (modules.Count > 0 && !modules.Any(m => m.ChangeRefs))
        {
            reader.Error(Section, "(a Gerrit server)", "at least one module with \"ChangeRefs\": true beside it: only patch-set and recheck runs report to Gerrit, and only those modules have them");
        }

        return gerrit;
    }

    private static void ReadGerritProjects(ConfigurationReader reader, string key, List<TrackedModule> modules, Dictionary<string, string> projects)
    {
        if (!reader.IsPresent(key))
        {
            return;
        }

        const string Expected = "an object mapping module names to Gerrit projects, like { \"keystone\": \"openstack/puppet-keystone\" }";
        IConfigurationSection section = reader.Section(key);
        if (!string.IsNullOrEmpty(section.Value))
        {
            reader.Error(key, section.Value, Expected);
            return;
        }

        string moduleNames = string.Join(", ", modules.Select(m => m.Name));
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!modules.Any(m => m.Name == child.Key))
            {
                reader.Error(child.Path, child.Key, $"a configured module name as the key ({moduleNames})");
            }
            else if (reader.String(child.Path, null, GerritProject().IsMatch, "a Gerrit project name like openstack/puppet-keystone") is { } project)
            {
                projects[child.Key] = project;
            }
        }
    }

    /// <summary>The listen URL as a link: <c>*</c>, <c>+</c>, <c>0.0.0.0</c> and <c>[::]</c> listen everywhere, which nobody can browse to.</summary>
    internal static string DerivePublicUrl(string listen)
    {
        Match wildcard = WildcardListenHost().Match(listen);
        string url = wildcard.Success
            ? string.Concat(listen.AsSpan(0, wildcard.Groups["host"].Index), System.Net.Dns.GetHostName().ToLowerInvariant(), listen.AsSpan(wildcard.Groups["host"].Index + wildcard.Groups["host"].Length))
            : listen;
        return url.TrimEnd('/');
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex WebhookName();

    // Gerrit project names: path segments without spaces, no leading or trailing slash, no .git suffix.
    [GeneratedRegex(@"^(?!.*\.git$)[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex GerritProject();

    [GeneratedRegex(@"^https?://(?<host>\*|\+|0\.0\.0\.0|\[::\])(?=[:/]|$)", RegexOptions.CultureInvariant)]
    private static partial Regex WildcardListenHost();
}
