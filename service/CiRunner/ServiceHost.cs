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
    /// <summary>
    /// Time allowed after the drain for the cancelled jobs' containers to be killed and removed (each call is bounded
    /// by 30 s) and for the last writes.
    /// </summary>
    public static readonly TimeSpan TeardownAllowance = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How long the host may take to stop: <c>Service:DrainTimeout</c> plus <see cref="TeardownAllowance"/>. The
    /// systemd unit's <c>TimeoutStopSec</c> must be at least this, or systemd kills the process mid-teardown.
    /// </summary>
    public static TimeSpan ShutdownTimeoutFor(ServiceOptions service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.DrainTimeout + TeardownAllowance;
    }

    /// <param name="settings">The validated settings.</param>
    /// <param name="configuration">The configuration they came from (logging reads it).</param>
    /// <param name="configureServices">Last word on the services; tests add a log capture here.</param>
    public static WebApplication Build(CiRunnerSettings settings, IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        NativeHeap.LimitArenas();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = Path.GetDirectoryName(settings.ConfigFile),

            // Settings are validated once at start, and a change needs a restart: no file watcher on the config folder.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Configuration.AddConfiguration(configuration);

        // Both are no-ops unless the process really runs under systemd or the Windows service manager.
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(options => options.ServiceName = "CiRunner");
        // The drain (Service:DrainTimeout), then time for the cancelled jobs' containers to be killed and removed.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = ShutdownTimeoutFor(settings.Service));
        builder.WebHost.UseUrls(settings.Http.Listen);

        Directory.CreateDirectory(settings.DataPaths.Root);
        builder.Services.AddCiRunnerSettings(settings);
        builder.Services.AddTelemetry(settings);
        builder.Services.AddResultsStore(settings);
        builder.Services.AddExecution(settings);
        builder.Services.AddSingleton<RunLauncher>();

        // After the dispatcher: hosted services stop in reverse order, so polls and nightly triggers stop firing
        // before the dispatcher drains its running jobs.
        builder.Services.AddScheduling(settings);
        builder.Services.AddReporting(settings);
        builder.Services.AddWeb();
        builder.Services.AddHostedService(sp => new NativeHeapTrimming(sp.GetRequiredService<TimeProvider>()));
        configureServices?.Invoke(builder.Services);

        WebApplication app = builder.Build();
        app.UseMetrics();
        app.UseHealth();
        // Explicit, so that the scrape and the probe above answer before routing (WebApplication would put routing first).
        app.UseRouting();
        app.MapWeb();
        return app;
    }
}
