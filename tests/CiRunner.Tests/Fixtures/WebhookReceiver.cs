using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>A delivery the receiver accepted: the body and whether its signature was right.</summary>
public sealed record WebhookDelivery(string Body, string? Signature, bool SignatureValid, string? Event, string? Delivery);

/// <summary>
/// A chat or ops endpoint on loopback, as an integration would write one: it checks
/// <c>X-CiRunner-Signature-256: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c> against its secret on its own (not with
/// CiRunner's code), answers 401 to a bad signature, and keeps every delivery.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<WebhookDelivery> _deliveries = new();

    private WebhookReceiver(WebApplication app, string secret)
    {
        _app = app;
        Secret = secret;
    }

    public string Secret { get; }

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<WebhookDelivery> Deliveries => [.. _deliveries];

    public static async Task<WebhookReceiver> StartAsync(string secret)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var receiver = new WebhookReceiver(app, secret);
        app.MapPost("/hooks/ci", (Delegate)receiver.ReceiveAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = new Uri(new Uri(address), "/hooks/ci");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> ReceiveAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        byte[] body = buffer.ToArray();
        string? signature = http.Request.Headers["X-CiRunner-Signature-256"].FirstOrDefault();
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(Secret));
        string expected = "sha256=" + string.Concat(hmac.ComputeHash(body).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        bool valid = signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected));
        _deliveries.Enqueue(new WebhookDelivery(
            Encoding.UTF8.GetString(body), signature, valid, http.Request.Headers["X-CiRunner-Event"].FirstOrDefault(), http.Request.Headers["X-CiRunner-Delivery"].FirstOrDefault()));
        return valid ? Microsoft.AspNetCore.Http.Results.NoContent() : Microsoft.AspNetCore.Http.Results.Unauthorized();
    }
}
