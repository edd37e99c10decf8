namespace CiRunner.Configuration;

/// <summary>
/// The <c>Gerrit</c> section: the code review server that patch-set runs report to as a third-party CI, and where
/// <c>recheck</c> comments are read. Absent means no Gerrit reporting, no recheck and no REST lookups.
/// </summary>
public sealed class GerritOptions
{
    public const string SectionName = "Gerrit";

    /// <summary>The server's base URL (<c>https://review.opendev.org</c>); authenticated endpoints are under <c>/a/</c> of it.</summary>
    [Text(TextKind.GerritUrl, ErrorMessage = "the Gerrit server's http:// or https:// base URL, like https://review.opendev.org (without /a/ and without a login: that comes from UsernameVariable and PasswordVariable, or UsernameFile and PasswordFile)")]
    public string Url { get; set; } = "";

    /// <summary>The environment variable with the CI account's user name. Never the name itself in the file.</summary>
    [Text(TextKind.EnvironmentVariable, ErrorMessage = OptionValues.EnvironmentVariableExpected + " that holds the CI account's user name")]
    public string UsernameVariable { get; set; } = "CIRUNNER_GERRIT_USERNAME";

    /// <summary>The environment variable with the CI account's HTTP password (Gerrit: Settings, HTTP Credentials).</summary>
    [Text(TextKind.EnvironmentVariable, ErrorMessage = OptionValues.EnvironmentVariableExpected + " that holds the CI account's HTTP password")]
    public string PasswordVariable { get; set; } = "CIRUNNER_GERRIT_PASSWORD";

    /// <summary>Instead of <see cref="UsernameVariable"/>: a file holding the user name, readable only by the service's user. Absolute after validation.</summary>
    [Text(TextKind.Path, ErrorMessage = "the path of a file holding the CI account's user name, readable only by the service's user")]
    public string? UsernameFile { get; set; }

    /// <summary>Instead of <see cref="PasswordVariable"/>: a file holding the HTTP password, readable only by the service's user. Absolute after validation.</summary>
    [Text(TextKind.Path, ErrorMessage = "the path of a file holding the CI account's HTTP password, readable only by the service's user")]
    public string? PasswordFile { get; set; }

    /// <summary>Where the CI account's user name comes from.</summary>
    public SecretReference Username => UsernameFile is { Length: > 0 } file
        ? SecretReference.FromFile(file, $"{SectionName}:{nameof(UsernameFile)}")
        : SecretReference.FromVariable(UsernameVariable, $"{SectionName}:{nameof(UsernameVariable)}");

    /// <summary>Where the CI account's HTTP password comes from.</summary>
    public SecretReference Password => PasswordFile is { Length: > 0 } file
        ? SecretReference.FromFile(file, $"{SectionName}:{nameof(PasswordFile)}")
        : SecretReference.FromVariable(PasswordVariable, $"{SectionName}:{nameof(PasswordVariable)}");

    /// <summary>The CI's name: the review header says it, and <c>recheck &lt;CiName&gt;</c> re-runs only this CI.</summary>
    [Matches("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$", ErrorMessage = "the CI's name as reviewers see it, like Acme Puppet CI (letters, digits, spaces, '.', '_', '-'; at most 64 characters)")]
    public string CiName { get; set; } = "";

    /// <summary>The CI's contact page (for OpenStack, its ThirdPartySystems wiki page), linked from every review.</summary>
    [Text(TextKind.HttpUrl, ErrorMessage = "the http(s) URL of the CI's contact page, like https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI")]
    public string ContactUrl { get; set; } = "";

    /// <summary>Vote on <see cref="Label"/> (+1 passed, -1 failed); false posts a comment only.</summary>
    public bool Voting { get; set; }

    /// <summary>The label voted on.</summary>
    [Matches("^[A-Za-z0-9][A-Za-z0-9-]*$", ErrorMessage = "a Gerrit label name like Verified (letters, digits and '-')")]
    public string Label { get; set; } = "Verified";

    /// <summary>Gerrit's <c>notify</c> for reviews: <c>NONE</c>, <c>OWNER</c>, <c>OWNER_REVIEWERS</c> or <c>ALL</c>.</summary>
    [Matches("^(?:NONE|OWNER|OWNER_REVIEWERS|ALL)$", ErrorMessage = "NONE, OWNER, OWNER_REVIEWERS or ALL")]
    public string Notify { get; set; } = "OWNER";

    /// <summary>Gerrit project per module name; a module not listed is <c>openstack/puppet-&lt;name&gt;</c>.</summary>
    [ReadByLoader]
    public Dictionary<string, string> Projects { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often open changes' messages are read for <c>recheck</c> comments.</summary>
    [Duration(Minimum = "5s", ErrorMessage = Matrix.Duration.Expected + ", at least 5s")]
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Scenarios whose jobs are reported as <c>(non-voting)</c>: their failures never fail the build or vote -1.</summary>
    [ReadByLoader]
    public List<string> NonVotingScenarios { get; set; } = [];

    /// <summary>The Gerrit project of a module.</summary>
    public string ProjectOf(string module) => Projects.TryGetValue(module, out string? project) ? project : $"openstack/puppet-{module}";

    /// <summary>The module whose project this is, among <paramref name="modules"/>; null when none maps to it.</summary>
    public string? ModuleOf(string project, IEnumerable<string> modules) => modules.FirstOrDefault(m => ProjectOf(m) == project);

    /// <summary>The login from its variables or files, or null when either part is unset or empty.</summary>
    public (string Username, string Password)? ReadLogin(Func<string, string?>? getEnvironmentVariable = null)
    {
        string? username = Username.Read(getEnvironmentVariable);
        string? password = Password.Read(getEnvironmentVariable);
        return username is null || password is null ? null : (username, password);
    }

    /// <summary>Where the login comes from, for messages: <c>the environment variable X (Gerrit:UsernameVariable) and the file Y (Gerrit:PasswordFile)</c>.</summary>
    public string DescribeLogin() => $"{Username.Describe()} and {Password.Describe()}";
}
