using CiRunner.Configuration;
using CiRunner.Execution;
using Docker.DotNet;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
        // A web server at the address a Docker engine was expected at (a wrong port in Docker:Endpoint).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using WebApplication other = builder.Build();
        other.MapFallback(() => Microsoft.AspNetCore.Http.Results.Text("no such page here", statusCode: StatusCodes.Status404NotFound));
        await other.StartAsync();
        var address = new Uri(other.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var engine = new EngineOptions { Name = "default", Endpoint = $"tcp://127.0.0.1:{address.Port}" };
        using IDockerClient client = DockerClientFactory.Create(engine);
        using var probe = new EngineProbe(engine, client);
        var monitor = new DockerEngineMonitor(probe, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance);

        bool available = await monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.Equal("the engine answered /_ping with 404 Not Found: no such page here", monitor.Outage?.Error);
        await Assert.ThrowsAsync<HttpRequestException>(() => probe.ListAsync(["cirunner.managed=true"], CancellationToken.None));
    }
}
