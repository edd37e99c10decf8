using CiRunner.Configuration;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry;

namespace CiRunner.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The points kept per stream of the runtime's and the process's metrics (GC generations, CPU modes, exception types).</summary>
    private const int FewTagValues = 200;

    /// <summary>
    /// The instruments, the exporters and their wiring: Prometheus always (scraped at <c>/metrics</c>), OTLP for
    /// metrics and traces when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the other standard <c>OTEL_*</c>
    /// variables apply as the OpenTelemetry SDK reads them).
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, CiRunnerSettings settings, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton<CiRunnerTelemetry>();
        services.AddSingleton<CellResultGauge>();

        OpenTelemetryBuilder builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("cirunner", serviceInstanceId: settings.Service.InstanceId))
            .WithMetrics(metrics => metrics
                .AddMeter(CiRunnerTelemetry.MeterName)
                .AddRuntimeInstrumentation()
                .AddProcessInstrumentation()

                // The SDK reserves every stream's points up front, 2000 by default: right for CiRunner's own metrics
                // (cells, modules), waste for the runtime's and the process's, whose tags take a handful of values.
                .AddView(instrument => instrument.Meter.Name == CiRunnerTelemetry.MeterName ? null : new MetricStreamConfiguration { CardinalityLimit = FewTagValues })
                .AddPrometheusExporter());

        // Traces leave only through OTLP: without it no tracer provider listens, so the service builds no spans nobody
        // reads, and loads none of the SDK's tracing (bench/idle.sh).
        if (!string.IsNullOrWhiteSpace((getEnvironmentVariable ?? Environment.GetEnvironmentVariable)("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            builder.WithTracing(tracing => tracing.AddSource(CiRunnerTelemetry.ActivitySourceName));
            builder.UseOtlpExporter();
        }

        return services;
    }

    /// <summary>
    /// <c>/metrics</c> in the Prometheus text format, on the service's HTTP port; the cell gauge is created first so the
    /// first scrape has it. A middleware ahead of routing, not an endpoint: the first request that reaches routing builds
    /// every endpoint's request delegate and the pages' component endpoints (reflection, compiled expressions), which an
    /// idle service only scraped by Prometheus never needs (4 MiB resident, bench/README.md).
    /// </summary>
    public static IApplicationBuilder UseMetrics(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.ApplicationServices.GetRequiredService<CellResultGauge>();
        return app.UseOpenTelemetryPrometheusScrapingEndpoint("/metrics");
    }
}
