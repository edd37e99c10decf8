using System.Text.RegularExpressions;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

// The reporting sections: Reporting (JUnit, webhooks, retries), Gerrit, and Http:PublicUrl, which reports link to.
public static partial class ConfigurationLoader
{
    private const string NotifyValues = "NONE, OWNER, OWNER_REVIEWERS or ALL";

    private static readonly string[] _reportingKeys =
    [
        nameof(ReportingOptions.JUnit), nameof(ReportingOptions.RetryDelay), nameof(ReportingOptions.MaxRetryDelay), nameof(ReportingOptions.Webhooks),
    ];

    private static readonly string[] _webhookKeys = [nameof(WebhookOptions.Name), nameof(WebhookOptions.Url), nameof(WebhookOptions.SecretVariable), nameof(WebhookOptions.SecretFile)];

    private static readonly string[] _gerritKeys =
    [
        nameof(GerritOptions.Url), nameof(GerritOptions.UsernameVariable), nameof(GerritOptions.PasswordVariable),
        nameof(GerritOptions.UsernameFile), nameof(GerritOptions.PasswordFile), nameof(GerritOptions.CiName),
        nameof(GerritOptions.ContactUrl), nameof(GerritOptions.Voting), nameof(GerritOptions.Label), nameof(GerritOptions.Notify),
        nameof(GerritOptions.Projects), nameof(GerritOptions.RecheckInterval), nameof(GerritOptions.NonVotingScenarios),
    ];

    private static ReportingOptions ReadReporting(ConfigurationReader reader, string baseDirectory)
    {
        const string Section = ReportingOptions.SectionName;
        var defaults = new ReportingOptions();
        if (!reader.IsPresent(Section) || !reader.RejectUnknownKeys(Section, _reportingKeys))
        {
            return defaults;
        }

        var reporting = new ReportingOptions
        {
            JUnit = reader.Bool($"{Section}:JUnit", defaults.JUnit),
            RetryDelay = reader.Duration($"{Section}:RetryDelay", defaults.RetryDelay, t => t >= TimeSpan.FromSeconds(1), Duration.Expected + ", at least 1s"),
        };

        string maxKey = $"{Section}:MaxRetryDelay";
        reporting.MaxRetryDelay = reader.Duration(maxKey, defaults.MaxRetryDelay, t => t >= TimeSpan.FromSeconds(1), Duration.Expected + ", at least 1s");
        if (!reader.IsReported(maxKey) && !reader.IsReported($"{Section}:RetryDelay") && reporting.MaxRetryDelay < reporting.RetryDelay)
        {
            reader.Error(maxKey, reader.String(maxKey, null, _ => true, ""), $"a duration no shorter than Reporting:RetryDelay ({reporting.RetryDelay})");
        }

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

                string? url = reader.String($"{at}:Url", null, IsHttpUrl, "an http:// or https:// URL without a login in it", required: true);
                string? secretVariable = reader.String($"{at}:SecretVariable", null, EnvironmentVariableName().IsMatch,
                    $"{EnvironmentVariableExpected} that holds the HMAC secret");
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
        if (!reader.IsPresent(Section) || !reader.RejectUnknownKeys(Section, _gerritKeys))
        {
            return null;
        }

        var defaults = new GerritOptions();
        string? url = reader.String($"{Section}:Url", null, v => IsHttpUrl(v) && !v.TrimEnd('/').EndsWith("/a", StringComparison.Ordinal),
            "the Gerrit server's http:// or https:// base URL, like https://review.opendev.org (without /a/ and without a login: that comes from UsernameVariable and PasswordVariable, or UsernameFile and PasswordFile)", required: true);
        string? ciName = reader.String($"{Section}:CiName", null, CiName().IsMatch,
            "the CI's name as reviewers see it, like Acme Puppet CI (letters, digits, spaces, '.', '_', '-'; at most 64 characters)", required: true);
        string? contactUrl = reader.String($"{Section}:ContactUrl", null, IsHttpUrl,
            "the http(s) URL of the CI's contact page, like https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI", required: true);
        var gerrit = new GerritOptions
        {
            Url = url?.TrimEnd('/') ?? "",
            CiName = ciName ?? "",
            ContactUrl = contactUrl ?? "",
            UsernameVariable = reader.String($"{Section}:UsernameVariable", defaults.UsernameVariable, EnvironmentVariableName().IsMatch,
                $"{EnvironmentVariableExpected} that holds the CI account's user name")!,
            PasswordVariable = reader.String($"{Section}:PasswordVariable", defaults.PasswordVariable, EnvironmentVariableName().IsMatch,
                $"{EnvironmentVariableExpected} that holds the CI account's HTTP password")!,
            UsernameFile = ReadSecretFile(reader, $"{Section}:UsernameFile", $"{Section}:UsernameVariable", baseDirectory, "the CI account's user name"),
            PasswordFile = ReadSecretFile(reader, $"{Section}:PasswordFile", $"{Section}:PasswordVariable", baseDirectory, "the CI account's HTTP password"),
            Voting = reader.Bool($"{Section}:Voting", defaults.Voting),
            Label = reader.String($"{Section}:Label", defaults.Label, GerritLabel().IsMatch, "a Gerrit label name like Verified (letters, digits and '-')")!,
            Notify = reader.String($"{Section}:Notify", defaults.Notify, v => v is "NONE" or "OWNER" or "OWNER_REVIEWERS" or "ALL", NotifyValues)!,
            RecheckInterval = reader.Duration($"{Section}:RecheckInterval", defaults.RecheckInterval, t => t >= TimeSpan.FromSeconds(5),
                Duration.Expected + ", at least 5s"),
        };

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

    /// <summary><c>Http:PublicUrl</c> as given (without a trailing slash), else <paramref name="listen"/> with a wildcard host made this machine's name.</summary>
    private static string ReadPublicUrl(ConfigurationReader reader, string key, string listen)
    {
        string? publicUrl = reader.String(key, null, IsHttpUrl,
            "the http:// or https:// URL reviewers reach the dashboard at, like https://ci.example.org (no login, query or fragment)");
        return publicUrl?.TrimEnd('/') ?? DerivePublicUrl(listen);
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

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? uri)
        && uri.Scheme is "http" or "https"
        && uri.Host.Length > 0
        && uri.UserInfo.Length == 0
        && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex WebhookName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex CiName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex GerritLabel();

    // Gerrit project names: path segments without spaces, no leading or trailing slash, no .git suffix.
    [GeneratedRegex(@"^(?!.*\.git$)[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex GerritProject();

    [GeneratedRegex(@"^https?://(?<host>\*|\+|0\.0\.0\.0|\[::\])(?=[:/]|$)", RegexOptions.CultureInvariant)]
    private static partial Regex WildcardListenHost();
}
