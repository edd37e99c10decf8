using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

/// <summary>
/// An engine that went away and came back while nobody had asked it yet: the watch that saw both must still say it
/// was down, because the pool sweeps the engine and wakes the queue only then (a retry queued meanwhile waited forever).
/// </summary>
[Trait("Category", "Docker")]
public sealed class EngineReturnTests
{
    [Fact]
    public async Task WaitUntilAvailableAsync_OutageBeganAndEndedDuringTheWait_SaysItWasDown()
    {
        await using PrivateDockerDaemon daemon = await PrivateDockerDaemon.StartAsync();
        using var probe = new EngineProbe(new EngineOptions { Name = "private", Endpoint = daemon.Endpoint }, daemon.Client);
        var monitor = new DockerEngineMonitor(probe, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance);
        await daemon.StopAsync();
        Assert.Null(monitor.Outage);

        Task<bool> waiting = monitor.WaitUntilAvailableAsync(CancellationToken.None);
        await Eventually.TrueAsync("the monitor to see the outage", () => Task.FromResult(monitor.Outage is not null), TimeSpan.FromSeconds(30));
        await daemon.StartAgainAsync();
        bool wasDown = await waiting.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.True(wasDown);
        Assert.Null(monitor.Outage);
    }
}
