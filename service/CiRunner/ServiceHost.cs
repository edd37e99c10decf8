using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Reporting;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Telemetry;
using CiRunner.Web;

namespace CiRunner;

/// <summary>The service's composition: one <c>AddXxx</c> per stage, read top to bottom like the data flow.</summary>
internal static class ServiceHost
{
    /// <summary>Long enough for running job containers to be killed and removed before the process exits.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(90);

    /// <param name="settings">The validated settings.</param>
    /// <param name="configuration">The configuration they came from (logging reads it).</param>
    /// <param name="configureServices">Last word on the services; tests add a log capture here.</param>
    public static WebApplication Build(CiRunnerSettings settings, IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = Path.GetDirectoryName(settings.ConfigFile),
        });
        builder.Configuration.AddConfiguration(configuration);

        // Both are no-ops unless the process really runs under systemd or the Windows service manager.
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(options => options.ServiceName = "CiRunner");
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = ShutdownTimeout);
        builder.WebHost.UseUrls(settings.Http.Listen);

        Directory.CreateDirectory(settings.DataPaths.Root);
        builder.Services.AddCiRunnerSettings(settings);
        builder.Services.AddTelemetry(settings);
        builder.Services.AddResultsStore(settings.DataPaths);
        builder.Services.AddExecution(settings);
        builder.Services.AddSingleton<RunLauncher>();
        builder.Services.AddScheduling(settings);
        builder.Services.AddReporting(settings);
        builder.Services.AddWeb();
        configureServices?.Invoke(builder.Services);

        WebApplication app = builder.Build();
        app.MapWeb();
        app.MapMetrics();
        return app;
    }
}
