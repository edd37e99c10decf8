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
        var engine = new EngineOptions { Name = "default", Endpoint = endpoint };
        using IDockerClient client = DockerClientFactory.Create(engine);
        using var probe = new EngineProbe(engine, client);
        var monitor = new DockerEngineMonitor(probe, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance);

        bool available = await monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.NotNull(monitor.Outage);
        Assert.Equal(1, monitor.Errors);
        Assert.DoesNotContain("One or more errors occurred", monitor.Outage.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IsAvailableAsync_SomethingElseAnswersAtTheEndpoint_FalseWithItsAnswerAsTheError()
    {
        // Another web server at the address a Docker engine was expected at (a wrong port in Docker:Endpoint).
        await using WebhookReceiver other = await WebhookReceiver.StartAsync("secret");
        var engine = new EngineOptions { Name = "default", Endpoint = $"tcp://127.0.0.1:{other.Url.Port}" };
        using IDockerClient client = DockerClientFactory.Create(engine);
        using var probe = new EngineProbe(engine, client);
        var monitor = new DockerEngineMonitor(probe, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance);

        bool available = await monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.Equal("the engine answered /_ping with 404 Not Found", monitor.Outage?.Error);
        await Assert.ThrowsAsync<HttpRequestException>(() => probe.ListAsync(["cirunner.managed=true"], CancellationToken.None));
    }
}
