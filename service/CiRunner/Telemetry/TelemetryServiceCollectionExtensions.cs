using System.Collections.Frozen;
using CiRunner.Configuration;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry;

namespace CiRunner.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// The points kept per stream whose tags take a handful of values: the runtime's and the process's metrics (GC
    /// generations, CPU modes, exception types), and CiRunner's queue, engines (one series per engine of the pool) and
    /// reports (reporter and state).
    /// </summary>
    private const int FewTagValues = 200;

    internal static readonly FrozenSet<string> FewValueInstruments = FrozenSet.Create(
        "cirunner.jobs.queued", "cirunner.jobs.running", "cirunner.reports",
        "cirunner.engine.capacity", "cirunner.engine.running", "cirunner.engine.up", "cirunner.engine.errors");

    /// <summary>Tagged by module, and <c>cirunner.runs.created</c> by module and cause: as many series as the configuration has modules, times the causes.</summary>
    internal static readonly FrozenSet<string> PerModuleInstruments = FrozenSet.Create(
        "cirunner.polls", "cirunner.poll.errors", "cirunner.poll.duration", "cirunner.commits.detected", "cirunner.runs.created");

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

                // The SDK reserves every stream's points up front, 2000 by default (about 140 KB each, zeroed, so
                // resident): right for the metrics by cell, waste where the tags take a handful of values or one per
                // configured module.
                .AddView(instrument => CardinalityLimit(instrument.Meter.Name, instrument.Name, settings.Modules.Count) is { } limit
                    ? new MetricStreamConfiguration { CardinalityLimit = limit }
                    : null)
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

    /// <summary>The points a stream keeps; null for the SDK's default (2000), which the metrics by cell keep.</summary>
    internal static int? CardinalityLimit(string meter, string instrument, int modules) =>
        meter != CiRunnerTelemetry.MeterName || FewValueInstruments.Contains(instrument) ? FewTagValues
        : PerModuleInstruments.Contains(instrument) ? Math.Max(FewTagValues, modules * Enum.GetValues<RunCause>().Length)
        : null;

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
