using CiRunner.Configuration;
using CiRunner.Execution;
using Docker.DotNet;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

/// <summary>An engine that refuses the connection is "down", whatever shape the client library gives the refusal.</summary>
public sealed class EngineMonitorTests
{
    [Theory]
    [InlineData("tcp://127.0.0.1:1")]
    [InlineData("unix:///nonexistent/cirunner-tests/docker.sock")]
    public async Task IsAvailableAsync_EngineRefusesTheConnection_FalseWithTheOutageRecorded(string endpoint)
    {
        using IDockerClient client = DockerClientFactory.Create(new DockerOptions { Endpoint = endpoint });
        var monitor = new DockerEngineMonitor(client, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance);

        bool available = await monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.NotNull(monitor.Outage);
        Assert.Equal(1, monitor.Errors);
        Assert.DoesNotContain("One or more errors occurred", monitor.Outage.Error, StringComparison.Ordinal);
    }
}
