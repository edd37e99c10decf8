using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>One request the receiver took, as it came over the wire.</summary>
public sealed record OtlpRequest(string Method, string Path, string? ContentType, string? ContentEncoding, byte[] Body);

/// <summary>
/// An OTLP/HTTP endpoint on loopback as far as the wire goes: it accepts any POST (<c>/v1/traces</c>,
/// <c>/v1/metrics</c>, <c>/v1/logs</c>), keeps method, path, headers and body, and answers 200 with an empty
/// protobuf body, as a collector does for a request it fully accepted. What the body means is read by
/// <see cref="OtlpTraceRequest"/>, never by the service's own code.
/// </summary>
public sealed class OtlpHttpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<OtlpRequest> _requests = new();

    private OtlpHttpReceiver(WebApplication app)
    {
        _app = app;
    }

    /// <summary>What an operator sets <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> to: the exporter appends the signal's path.</summary>
    public Uri Endpoint { get; private set; } = null!;

    public IReadOnlyList<OtlpRequest> Requests => [.. _requests];

    public static async Task<OtlpHttpReceiver> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var receiver = new OtlpHttpReceiver(app);
        app.Run(receiver.ReceiveAsync);
        await app.StartAsync();
        receiver.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ReceiveAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        _requests.Enqueue(new OtlpRequest(
            http.Request.Method, http.Request.Path.Value ?? "", http.Request.ContentType, http.Request.Headers.ContentEncoding.FirstOrDefault(), buffer.ToArray()));
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/x-protobuf";
    }
}
