namespace CiRunner.Configuration;

/// <summary>The <c>Http</c> section: where the dashboard, API and metrics listen.</summary>
public sealed class HttpOptions
{
    public const string SectionName = "Http";

    /// <summary>Listen URL of the dashboard, API and <c>/metrics</c>.</summary>
    public string Listen { get; set; } = "http://127.0.0.1:8080";

    /// <summary>
    /// The address reviewers and webhook receivers reach the dashboard at (links in reports); without it, the
    /// <see cref="Listen"/> URL with a wildcard host replaced by this machine's name.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>Name of the environment variable that holds the API token. The token itself is never read from a file.</summary>
    public string ApiTokenVariable { get; set; } = "CIRUNNER_API_TOKEN";

    /// <summary>
    /// When true, the dashboard, the JSON reads and the logs need the API token too (bearer header); when false
    /// (the default) only write actions do. <c>/healthz</c> and <c>/metrics</c> stay open either way, for probes
    /// and scrapers.
    /// </summary>
    public bool ProtectReads { get; set; }

    /// <summary>The API token from the environment, or null when unset (write actions are then refused).</summary>
    public string? ReadApiToken(Func<string, string?>? getEnvironmentVariable = null)
    {
        string? token = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)(ApiTokenVariable);
        return string.IsNullOrEmpty(token) ? null : token;
    }
}
