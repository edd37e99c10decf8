using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Reporting;

/// <summary>
/// POSTs every finished run's summary (<see cref="RunSummaryBody"/>) as JSON to one configured URL, signed like
/// GitHub's webhooks when a secret is configured: <c>X-CiRunner-Signature-256: sha256=&lt;hex HMAC-SHA256 of the
/// body&gt;</c>. <c>X-CiRunner-Delivery</c> is the same on every retry of one run's delivery, so receivers can drop
/// a duplicate (a retry after a timeout may deliver twice).
/// </summary>
public sealed class WebhookReporter : IRunReporter
{
    public const string SignatureHeader = "X-CiRunner-Signature-256";
    public const string EventHeader = "X-CiRunner-Event";
    public const string DeliveryHeader = "X-CiRunner-Delivery";

    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web);

    private readonly WebhookOptions _options;
    private readonly HttpClient _http;
    private readonly ReportLinks _links;
    private readonly Func<string, string?> _getEnvironmentVariable;

    public WebhookReporter(WebhookOptions options, HttpClient http, ReportLinks links, Func<string, string?>? getEnvironmentVariable = null)
    {
        _options = options;
        _http = http;
        _links = links;
        _getEnvironmentVariable = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
    }

    public string Name => $"webhook:{_options.Name}";

    public bool AppliesTo(RunRecord run) => true;

    /// <summary>The signature header's value for a body: <c>sha256=</c> and the lower-case hex HMAC-SHA256.</summary>
    public static string Sign(byte[] body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public async Task<ReportOutcome> ReportAsync(FinishedRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(RunSummaryBody.From(run, _links), _json);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(EventHeader, "run.finished");
        request.Headers.Add(DeliveryHeader, $"{run.Run.Id}");
        if (_options.Secret is { } source)
        {
            string? secret = source.Read(_getEnvironmentVariable);
            if (secret is null)
            {
                // Sending unsigned would teach the receiver to accept unsigned deliveries; wait for the secret.
                return ReportOutcome.Retry($"The secret of webhook '{_options.Name}' is missing: {source.Describe()} is unset, empty or unreadable for the service; fix it (and restart for a variable).");
            }

            request.Headers.Add(SignatureHeader, Sign(body, secret));
        }

        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken);
            int status = (int)response.StatusCode;
            string answer = $"{status} {response.ReasonPhrase} from {_options.Url}";
            if (response.IsSuccessStatusCode)
            {
                return ReportOutcome.Sent(answer);
            }

            // A receiver that refuses the request as such will refuse it again; anything else may pass.
            bool permanent = status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            return permanent ? ReportOutcome.Failed($"Webhook '{_options.Name}' refused the delivery: {answer}") : ReportOutcome.Retry($"Webhook '{_options.Name}' answered {answer}");
        }
        catch (HttpRequestException e)
        {
            return ReportOutcome.Retry($"Webhook '{_options.Name}' at {_options.Url} could not be reached: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ReportOutcome.Retry($"Webhook '{_options.Name}' at {_options.Url} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
    }
}
