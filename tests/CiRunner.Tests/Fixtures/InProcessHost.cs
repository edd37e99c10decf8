using CiRunner.Configuration;
using CiRunner.Execution;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The service's host in the test process, as <c>cirunner serve</c> builds it from loaded settings: for tests that
/// seed the store, then read the pages and the API over HTTP.
/// </summary>
internal static class InProcessHost
{
    /// <summary>
    /// Starts the host and waits for the dispatcher's start-up recovery, which runs after the start returns: it ends
    /// this instance's running jobs as interrupted, so a job a test marks started before it is done (the engine's
    /// container listing is slow under load) would be interrupted and retried, and its cell would have no result.
    /// Jobs stored after this are never queued in the dispatcher's memory either: only recovery and the runner queue.
    /// </summary>
    public static async Task<WebApplication> StartAsync(CiRunnerSettings settings)
    {
        WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        await app.Services.GetRequiredService<JobDispatcher>().Recovered.WaitAsync(TimeSpan.FromMinutes(1));
        return app;
    }

    /// <summary>Stops and disposes the host (null: it never started), then lets go of SQLite's pooled files.</summary>
    public static async Task StopAsync(WebApplication? app)
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
