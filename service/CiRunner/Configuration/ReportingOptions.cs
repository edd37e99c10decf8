using System.ComponentModel.DataAnnotations;

namespace CiRunner.Configuration;

/// <summary>The <c>Reporting</c> section: JUnit XML per run, webhooks, and how undelivered reports are retried.</summary>
public sealed class ReportingOptions : IValidatableObject
{
    public const string SectionName = "Reporting";

    /// <summary>Write <c>&lt;DataDirectory&gt;/reports/&lt;run-id&gt;/junit.xml</c> when a run finishes.</summary>
    public bool JUnit { get; set; } = true;

    /// <summary>The wait before a report's second attempt; it doubles with each failed attempt up to <see cref="MaxRetryDelay"/>.</summary>
    [Duration(Minimum = "1s", ErrorMessage = Matrix.Duration.Expected + ", at least 1s")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between two attempts. Reports are retried until they are delivered.</summary>
    [Duration(Minimum = "1s", ErrorMessage = Matrix.Duration.Expected + ", at least 1s")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Endpoints that get every finished run's summary as JSON.</summary>
    [ReadByLoader]
    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>The rule across keys: the longest wait is no shorter than the first.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxRetryDelay < RetryDelay)
        {
            yield return new ValidationResult($"a duration no shorter than {SectionName}:{nameof(RetryDelay)} ({RetryDelay})", [nameof(MaxRetryDelay), nameof(RetryDelay)]);
        }
    }

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1, after <paramref name="attempt"/> failed ones.</summary>
    public TimeSpan BackoffAfter(int attempt)
    {
        double factor = Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        double ticks = Math.Min(RetryDelay.Ticks * factor, MaxRetryDelay.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>One entry of <c>Reporting:Webhooks</c>: where a run summary is posted, and how it is signed.</summary>
public sealed class WebhookOptions
{
    /// <summary>Names the webhook in reports (<c>webhook:&lt;Name&gt;</c>) and logs.</summary>
    public string Name { get; set; } = "";

    /// <summary>The http(s) URL the JSON summary is POSTed to.</summary>
    public string Url { get; set; } = "";

    /// <summary>The environment variable with the HMAC-SHA256 secret; without it (or <see cref="SecretFile"/>), deliveries are not signed.</summary>
    public string? SecretVariable { get; set; }

    /// <summary>Instead of <see cref="SecretVariable"/>: a file holding the secret, readable only by the service's user. Absolute after validation.</summary>
    public string? SecretFile { get; set; }

    /// <summary>Where the signing secret comes from; null when deliveries are not signed.</summary>
    public SecretReference? Secret => SecretFile is { Length: > 0 } file ? SecretReference.FromFile(file, $"webhook '{Name}' SecretFile")
        : SecretVariable is { Length: > 0 } variable ? SecretReference.FromVariable(variable, $"webhook '{Name}' SecretVariable")
        : null;
}
