using CiRunner.Configuration;
using CiRunner.Polling;
using CiRunner.Results;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Quartz;

namespace CiRunner.Scheduling;

/// <summary>Registers polling and scheduling: mirrors, the poller, the run launcher and Quartz with its store in the results database.</summary>
public static class SchedulingServiceCollectionExtensions
{
    /// <summary>The Quartz scheduler's name; its rows in the <c>QRTZ_</c> tables carry it, so it never changes.</summary>
    public const string SchedulerName = "CiRunner";

    /// <summary>
    /// Registers <see cref="ModuleMirrors"/>, <see cref="ModulePoller"/>, <see cref="RunLauncher"/>, the
    /// <see cref="PollJob"/> and <see cref="NightlyJob"/>, and Quartz with a persistent store in the same SQLite
    /// file as the results (its <c>QRTZ_</c> tables are created on first start). Call after
    /// <see cref="ResultsServiceCollectionExtensions.AddResultsStore(IServiceCollection, DataPaths)"/>, so the
    /// results schema is migrated before the scheduler touches the file.
    /// </summary>
    public static IServiceCollection AddScheduling(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);

        services.AddHostedService<ScenarioWatcher>();
        services.AddSingleton(sp => new ModuleMirrors(settings.DataPaths));
        services.AddSingleton<ModulePoller>();
        services.TryAddSingleton<RunLauncher>();
        services.AddSingleton<ManualTrigger>();
        services.AddTransient<PollJob>();
        services.AddTransient<NightlyJob>();
        services.AddTransient<RetentionJob>();

        string connectionString = ResultsDatabase.BuildConnectionString(settings.DataPaths.DatabaseFile);
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(options => options.InstanceName = SchedulerName);
            q.UsePersistentStore(store =>
            {
                store.UseSqlite(connectionString);
                store.ProvisionSchema();
                store.UseSystemTextJsonSerializer();
            });
        });

        // Synchronised before Quartz's hosted service starts the scheduler, so no trigger fires for a removed module.
        services.AddHostedService<ScheduleSynchronizer>();
        // Not waiting for running jobs at shutdown: a poll blocked in a network connect cannot be cancelled, and every
        // job is idempotent (an interrupted poll stored nothing for the heads it had not handled).
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = false);
        return services;
    }
}
