using System.Net.Sockets;
using System.Text.Json;
using CiRunner.Configuration;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>A container as a listing by labels gives it.</summary>
/// <param name="Id">Its id.</param>
/// <param name="State">created, running, exited, ...</param>
/// <param name="Labels">Its labels.</param>
public sealed record LabelledContainer(string Id, string State, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// The two questions asked of an engine while no job runs: does it answer (<c>GET /_ping</c>, every few seconds), and
/// which containers carry some labels (<c>GET /containers/json</c>, at start and after an outage). They go through the
/// runtime's own HTTP client over the engine's socket, not through Docker.DotNet: its client, HTTP stack and model types
/// held about 8 MiB of an idle service that runs nothing (bench/idle.sh), and are now loaded by the first job.
/// </summary>
/// <remarks>
/// An engine behind TLS (<see cref="EngineOptions.TlsCertDirectory"/>) is asked through its Docker.DotNet client,
/// which checks the engine's certificate against <c>ca.pem</c> and presents <c>cert.pem</c>: that check is not
/// written twice. So is an engine on a named pipe.
/// </remarks>
public sealed class EngineProbe : IDisposable
{
    private readonly HttpClient? _http;
    private readonly IDockerClient _docker;

    /// <param name="engine">Where the engine listens.</param>
    /// <param name="docker">The engine's full client: asked instead when it is behind TLS or on a named pipe.</param>
    public EngineProbe(EngineOptions engine, IDockerClient docker)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _docker = docker;
        _http = engine.TlsCertDirectory is null ? PlainClient(engine.Endpoint) : null;

        // Each question on a connection of its own: a stopping engine still answers on connections it accepted
        // earlier while it refuses new ones, and a ping must say whether a job could reach it now.
        _http?.DefaultRequestHeaders.ConnectionClose = true;
    }

    /// <summary>Returns when the engine answers its ping; throws (<see cref="HttpRequestException"/>, <see cref="SocketException"/>, ...) when it does not.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        if (_http is null)
        {
            await _docker.System.PingAsync(cancellationToken);
            return;
        }

        using HttpResponseMessage answer = await GetAsync(_http, new Uri("/_ping", UriKind.Relative), cancellationToken);
        await EnsureAnsweredAsync(answer, "/_ping", cancellationToken);
    }

    /// <summary>Every container, running or not, that carries all of <paramref name="labels"/> (each <c>name=value</c>).</summary>
    public async Task<IReadOnlyList<LabelledContainer>> ListAsync(IReadOnlyCollection<string> labels, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (_http is null)
        {
            return await ListThroughClientAsync(labels, cancellationToken);
        }

        // The engine API's filter: {"label":{"name=value":true,...}}, the form Docker.DotNet sends.
        string filters = JsonSerializer.Serialize(ContainerLabels.Filter(labels));
        var request = new Uri($"/containers/json?all=1&filters={Uri.EscapeDataString(filters)}", UriKind.Relative);
        using HttpResponseMessage answer = await GetAsync(_http, request, cancellationToken);
        await EnsureAnsweredAsync(answer, "/containers/json", cancellationToken);
        await using Stream body = await answer.Content.ReadAsStreamAsync(cancellationToken);
        using JsonDocument containers = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return [.. containers.RootElement.EnumerateArray().Select(Container)];
    }

    public void Dispose() => _http?.Dispose();

    // Its own method, so that listing over plain HTTP does not load Docker.DotNet's model types.
    private async Task<IReadOnlyList<LabelledContainer>> ListThroughClientAsync(IReadOnlyCollection<string> labels, CancellationToken cancellationToken)
    {
        IList<ContainerListResponse> listed = await _docker.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = ContainerLabels.Filter(labels) },
            cancellationToken);
        return [.. listed.Select(c => new LabelledContainer(c.ID, c.State ?? "", c.Labels?.ToDictionary(StringComparer.Ordinal) ?? []))];
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.GetAsync(request, cancellationToken);
        }
        catch (HttpRequestException e) when (e.InnerException is EngineSocketException socket)
        {
            // The handler appends the request's host to a connect failure, which means nothing for a socket ("docker:80").
            throw new HttpRequestException(HttpRequestError.ConnectionError, socket.Message, socket);
        }
    }

    private static LabelledContainer Container(JsonElement container)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (container.TryGetProperty("Labels", out JsonElement given) && given.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty label in given.EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? "";
            }
        }

        string state = container.TryGetProperty("State", out JsonElement text) && text.ValueKind == JsonValueKind.String ? text.GetString()! : "";
        return new LabelledContainer(container.GetProperty("Id").GetString()!, state, labels);
    }

    private static async Task EnsureAnsweredAsync(HttpResponseMessage answer, string path, CancellationToken cancellationToken)
    {
        if (answer.IsSuccessStatusCode)
        {
            return;
        }

        // The engine says why in {"message": "..."}; anything else at that address is not an engine.
        string body = await answer.Content.ReadAsStringAsync(cancellationToken);
        string why = body.Length == 0 ? "" : ": " + (MessageOf(body) ?? body[..Math.Min(body.Length, 200)]);
        throw new HttpRequestException($"the engine answered {path} with {(int)answer.StatusCode} {answer.ReasonPhrase}{why}", null, answer.StatusCode);
    }

    private static string? MessageOf(string body)
    {
        try
        {
            using JsonDocument error = JsonDocument.Parse(body);
            return error.RootElement.ValueKind == JsonValueKind.Object && error.RootElement.TryGetProperty("message", out JsonElement message)
                ? message.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static HttpClient? PlainClient(string endpoint)
    {
        var uri = new Uri(endpoint);

        // Straight to the engine, as Docker.DotNet goes: a proxy from the service's environment (HTTP_PROXY) is not for it.
        return uri.Scheme switch
        {
            "unix" => new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectCallback = (_, token) => ConnectUnixAsync(uri.LocalPath, token) })
            {
                // The host name is not used by the socket; the engine ignores it.
                BaseAddress = new Uri("http://docker"),
            },
            "tcp" => new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new UriBuilder(Uri.UriSchemeHttp, uri.Host, uri.Port).Uri },
            _ => null,
        };
    }

    private static async ValueTask<Stream> ConnectUnixAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new EngineSocketException(path, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A connect to the engine's unix socket that failed, said in terms of the socket: the runtime reports a missing
/// socket file as "Cannot assign requested address", which sends an operator looking at the network.
/// </summary>
internal sealed class EngineSocketException : IOException
{
    public EngineSocketException(string path, SocketException cause)
        : base(Describe(path, cause), cause)
    {
    }

    private static string Describe(string path, SocketException cause) => cause.SocketErrorCode switch
    {
        _ when !File.Exists(path) => $"no socket at {path}: the Docker engine is not running, or listens elsewhere (Docker:Endpoint)",
        SocketError.ConnectionRefused => $"nothing listens on {path}: the Docker engine is not running (or is restarting)",
        SocketError.AccessDenied => $"no permission to connect to {path}: run the service as a user of the socket's group (docker) or as root",
        _ => $"{cause.Message} ({path})",
    };
}
