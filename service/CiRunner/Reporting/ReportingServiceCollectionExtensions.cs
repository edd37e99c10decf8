using CiRunner.Configuration;
using CiRunner.Polling;
using CiRunner.Results;
using CiRunner.Scheduling;

namespace CiRunner.Reporting;

public static class ReportingServiceCollectionExtensions
{
    /// <summary>The key of the HTTP client webhooks share.</summary>
    public const string WebhookHttpClient = "webhooks";

    /// <summary>
    /// The reporters the configuration asks for (JUnit unless <c>Reporting:JUnit</c> is false, one per webhook, Gerrit
    /// with a <c>Gerrit</c> section), the dispatcher that feeds them from the outbox, and with Gerrit the REST lookups
    /// the poller uses and the recheck poll Quartz runs.
    /// </summary>
    public static IServiceCollection AddReporting(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(_ => new ReportLinks(settings.Http));
        services.AddSingleton(sp => new FinishedRunReader(
            sp.GetRequiredService<RunStore>(),
            sp.GetRequiredService<JobStore>(),
            sp.GetRequiredService<DataPaths>(),
            sp.GetService<BisectStore>(),
            sp.GetService<FlakeStore>(),
            settings.Flakes));
        if (settings.Reporting.JUnit)
        {
            services.AddSingleton<IRunReporter, JUnitReporter>();
        }

        if (settings.Reporting.Webhooks.Count > 0)
        {
            services.AddKeyedSingleton(WebhookHttpClient, (_, _) => new HttpClient { Timeout = TimeSpan.FromSeconds(30) });
            foreach (WebhookOptions webhook in settings.Reporting.Webhooks)
            {
                services.AddSingleton<IRunReporter>(sp => new WebhookReporter(
                    webhook, sp.GetRequiredKeyedService<HttpClient>(WebhookHttpClient), sp.GetRequiredService<ReportLinks>()));
            }
        }

        // Always: without a Gerrit section it removes a recheck job stored while one was configured.
        services.AddSingleton<IScheduledJobSource, RecheckSchedule>();
        if (settings.Gerrit is { } gerrit)
        {
            services.AddSingleton(_ => new GerritClient(gerrit));
            services.AddSingleton<IRunReporter, GerritReporter>();
            services.AddSingleton<IPatchSetLookup, GerritPatchSetLookup>();
            services.AddSingleton<RecheckPoller>();
            services.AddTransient<RecheckJob>();
        }

        services.AddSingleton<ReportDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ReportDispatcher>());
        return services;
    }
}
