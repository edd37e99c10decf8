using CiRunner.Configuration;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The service's host in the test process, as <c>cirunner serve</c> builds it from loaded settings: for tests that
/// seed the store first, then read the pages and the API over HTTP.
/// </summary>
internal static class InProcessHost
{
    public static async Task<WebApplication> StartAsync(CiRunnerSettings settings)
    {
        WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
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
