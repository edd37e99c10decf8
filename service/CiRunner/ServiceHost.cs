using CiRunner.Configuration;
using CiRunner.Execution;
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

    public static WebApplication Build(CiRunnerSettings settings, IConfiguration configuration)
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
        builder.Services.AddWeb();

        WebApplication app = builder.Build();
        app.MapWeb();
        app.MapMetrics();
        return app;
    }
}
