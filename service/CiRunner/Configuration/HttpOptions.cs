namespace CiRunner.Configuration;

/// <summary>The <c>Http</c> section: where the dashboard, API and metrics listen.</summary>
public sealed class HttpOptions
{
    public const string SectionName = "Http";

    /// <summary>Listen URL of the dashboard, API and <c>/metrics</c>.</summary>
    [Text(TextKind.ListenUrl, ErrorMessage = "an http:// or https:// URL with a host and port, like http://127.0.0.1:8080")]
    public string Listen { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Name of the environment variable that holds the API token (unless <see cref="ApiTokenFile"/> is set). The token itself never appears in the configuration.</summary>
    [Text(TextKind.EnvironmentVariable, ErrorMessage = OptionValues.EnvironmentVariableExpected)]
    public string ApiTokenVariable { get; set; } = "CIRUNNER_API_TOKEN";

    /// <summary>A file holding the API token, readable only by the service's user; replaces <see cref="ApiTokenVariable"/> when set. Absolute after validation.</summary>
    [Text(TextKind.Path, ErrorMessage = "the path of a file holding the API token, readable only by the service's user")]
    public string? ApiTokenFile { get; set; }

    /// <summary>Where the API token comes from: <see cref="ApiTokenFile"/> when set, else <see cref="ApiTokenVariable"/>.</summary>
    public SecretReference ApiToken => ApiTokenFile is { Length: > 0 } file
        ? SecretReference.FromFile(file, $"{SectionName}:{nameof(ApiTokenFile)}")
        : SecretReference.FromVariable(ApiTokenVariable, $"{SectionName}:{nameof(ApiTokenVariable)}");

    /// <summary>
    /// When true, the dashboard, the JSON reads and the logs need the API token too (bearer header); when false
    /// (the default) only write actions do. <c>/healthz</c> and <c>/metrics</c> stay open either way, for probes
    /// and scrapers.
    /// </summary>
    public bool ProtectReads { get; set; }

    /// <summary>
    /// The address reviewers and webhook receivers reach the dashboard at (links in reports); without it, the
    /// <see cref="Listen"/> URL with a wildcard host replaced by this machine's name.
    /// </summary>
    [Text(TextKind.HttpUrl, ErrorMessage = "the http:// or https:// URL reviewers reach the dashboard at, like https://ci.example.org (no login, query or fragment)")]
    public string? PublicUrl { get; set; }

    /// <summary>The API token from its variable or file, or null when unset (write actions are then refused).</summary>
    public string? ReadApiToken(Func<string, string?>? getEnvironmentVariable = null) => ApiToken.Read(getEnvironmentVariable);
}
