using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

/// <summary>
/// An engine that refuses the connection is "down", whatever shape the client library gives the refusal; so is an
/// endpoint where something else than an engine answers, with what it answered as the reason.
/// </summary>
public sealed class EngineMonitorTests
{
    [Theory]
    [InlineData("tcp://127.0.0.1:1")]
    [InlineData("unix:///nonexistent/cirunner-tests/docker.sock")]
    public async Task IsAvailableAsync_EngineRefusesTheConnection_FalseWithTheOutageRecorded(string endpoint)
    {
        using var watched = new Watched(endpoint);

        bool available = await watched.Monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.NotNull(watched.Monitor.Outage);
        Assert.Equal(1, watched.Monitor.Errors);
        Assert.DoesNotContain("One or more errors occurred", watched.Monitor.Outage.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IsAvailableAsync_NoSocketFile_TheErrorNamesTheSocketAndWhatIsWrong()
    {
        using var folder = new TempDirectory();
        string path = folder.Combine("docker.sock");
        using var watched = new Watched("unix://" + path);

        Assert.False(await watched.Monitor.IsAvailableAsync(CancellationToken.None));

        Assert.Equal($"no socket at {path}: the Docker engine is not running, or listens elsewhere (Docker:Endpoint)", watched.Monitor.Outage?.Error);
    }

    [Fact]
    public async Task IsAvailableAsync_SocketFileNobodyListensOn_TheErrorSaysNothingListensThere()
    {
        // As a killed dockerd leaves it: the socket file is there, nothing accepts on it (bound, never listening; the
        // runtime removes the file when the socket closes, so it stays open for the test).
        using var folder = new TempDirectory();
        string path = folder.Combine("docker.sock");
        using System.Net.Sockets.Socket bound = BoundUnixSocket(path);

        using var watched = new Watched("unix://" + path);

        Assert.False(await watched.Monitor.IsAvailableAsync(CancellationToken.None));

        Assert.True(File.Exists(path));
        Assert.Equal($"nothing listens on {path}: the Docker engine is not running (or is restarting)", watched.Monitor.Outage?.Error);
        HttpRequestException listing = await Assert.ThrowsAsync<HttpRequestException>(() => watched.Probe.ListAsync(["cirunner.managed=true"], CancellationToken.None));
        Assert.Equal(watched.Monitor.Outage?.Error, listing.Message);
    }

    [Fact]
    public async Task IsAvailableAsync_SomethingElseAnswersAtTheEndpoint_FalseWithItsAnswerAsTheError()
    {
        // Another web server at the address a Docker engine was expected at (a wrong port in Docker:Endpoint).
        await using WebhookReceiver other = await WebhookReceiver.StartAsync("secret");
        using var watched = new Watched($"tcp://127.0.0.1:{other.Url.Port}");

        bool available = await watched.Monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.Equal("the engine answered /_ping with 404 Not Found", watched.Monitor.Outage?.Error);
        await Assert.ThrowsAsync<HttpRequestException>(() => watched.Probe.ListAsync(["cirunner.managed=true"], CancellationToken.None));
    }

    [Fact]
    public async Task AskNowAsync_NoSocketFile_SaysWhyAndRecordsNoOutage()
    {
        // What /healthz asks: it reports, and must not start an outage the dispatcher's own pings account for.
        using var folder = new TempDirectory();
        string path = folder.Combine("docker.sock");
        using var watched = new Watched("unix://" + path);

        string? error = await watched.Monitor.AskNowAsync(CancellationToken.None);

        Assert.Equal($"no socket at {path}: the Docker engine is not running, or listens elsewhere (Docker:Endpoint)", error);
        Assert.Null(watched.Monitor.Outage);
        Assert.Equal(0, watched.Monitor.Errors);
    }

    [Fact]
    public async Task AskNowAsync_EngineAcceptsAndSaysNothing_GivesUpAtThePingTimeout()
    {
        // A hung engine: the connection is accepted (the listen backlog), the ping never answered.
        using var folder = new TempDirectory();
        string path = folder.Combine("docker.sock");
        using System.Net.Sockets.Socket hung = BoundUnixSocket(path);
        hung.Listen(4);

        using var watched = new Watched("unix://" + path, new EngineMonitorOptions { PingTimeout = TimeSpan.FromSeconds(1) });

        Assert.Equal("no answer to a ping within 1 s", await watched.Monitor.AskNowAsync(CancellationToken.None));
        Assert.Null(watched.Monitor.Outage);
    }

    /// <summary>A unix socket bound at <paramref name="path"/> (the file exists while it is open), not listening yet.</summary>
    private static System.Net.Sockets.Socket BoundUnixSocket(string path)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>An engine endpoint with the probe and monitor the service makes for it.</summary>
    private sealed class Watched : IDisposable
    {
        private readonly IDockerClient _client;

        public Watched(string endpoint, EngineMonitorOptions? options = null)
        {
            var engine = new EngineOptions { Name = "default", Endpoint = endpoint };
            _client = DockerClientFactory.Create(engine);
            Probe = new EngineProbe(engine, _client);
            Monitor = new DockerEngineMonitor(Probe, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance, options);
        }

        public EngineProbe Probe { get; }

        public DockerEngineMonitor Monitor { get; }

        public void Dispose()
        {
            Probe.Dispose();
            _client.Dispose();
        }
    }
}
