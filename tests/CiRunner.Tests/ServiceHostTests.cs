using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Reporting;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CiRunner.Tests;

/// <summary>The composition <c>cirunner serve</c> runs, built but not started (no engine, no port).</summary>
public sealed class ServiceHostTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task HostedServices_StartInStageOrder()
    {
        // Given the service as serve builds it
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        await using WebApplication app = ServiceHost.Build(loaded.Settings!, ConfigurationLoader.BuildConfiguration(_folder.ConfigFile));

        // When its hosted services are listed in the order the host starts them (it stops them in reverse)
        string[] started = [.. app.Services.GetServices<IHostedService>().Select(s => s.GetType().Name)];

        // Then they follow the stages bottom-up (docs/architecture.md, "Start and stop order"): the schema is migrated
        // before anything uses the store, the dispatcher recovers before triggers can queue jobs, triggers stop before the
        // dispatcher drains, and reports stop first
        string[] stageOrder =
        [
            "ResultsSchemaMigrator",
            "QuietPollFlush",
            nameof(SystemdHostChecks),
            nameof(JobDispatcher),
            nameof(ScenarioWatcher),
            nameof(SchedulerStart),
            nameof(ReportDispatcher),
        ];
        Assert.Equal(stageOrder, started.Where(stageOrder.Contains));
    }
}
