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
    /// Registers <see cref="ModuleMirrors"/>, <see cref="ModulePoller"/>, <see cref="RunLauncher"/>, what fires the
    /// polls (<see cref="PollClock"/> in process for one instance, the <see cref="PollJob"/> in a cluster), the
    /// <see cref="NightlyJob"/>, and Quartz with a persistent store in the same database as the results (its
    /// <c>QRTZ_</c> tables are created on first start), started by <see cref="SchedulerStart"/>. Call after
    /// <see cref="ResultsServiceCollectionExtensions.AddResultsStore(IServiceCollection, CiRunnerSettings)"/>, so the
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
        services.AddSingleton<ReplayTrigger>();
        services.AddSingleton<BisectStarter>();
        services.AddHostedService(sp => sp.GetRequiredService<BisectStarter>());
        services.AddTransient<NightlyJob>();
        services.AddTransient<RetentionJob>();

        string connectionString = StoreDialects.ConnectionString(settings.Store, settings.DataPaths);
        bool clustered = settings.Store.IsPostgreSql;
        if (clustered)
        {
            // Polls fire from Quartz's clustered store: a module's poll runs on one instance at a time.
            services.AddTransient<PollJob>();
            services.AddSingleton<IPollSchedule, QuartzPollSchedule>();
        }
        else
        {
            // One instance: polls fire in process, with no store write per poll (see PollClock).
            services.AddSingleton<PollClock>();
            services.AddSingleton<IPollSchedule>(sp => sp.GetRequiredService<PollClock>());
            services.AddHostedService(sp => sp.GetRequiredService<PollClock>());
        }

        services.AddQuartz(q =>
        {
            // Clustered, each scheduler's check-in row and fired triggers carry its id: ours, unique per database
            // (serve refuses a second process with the same Service:InstanceId), so a restarted instance takes back its row.
            q.ConfigureScheduler(options =>
            {
                options.InstanceName = SchedulerName;
                if (clustered)
                {
                    options.InstanceId = settings.Service.InstanceId;
                }
            });
            q.UsePersistentStore(store =>
            {
                if (clustered)
                {
                    // One schedule for every instance sharing the database: a trigger fires on one of them, and a
                    // [DisallowConcurrentExecution] job (a module's poll) runs on one at a time cluster-wide.
                    store.UsePostgres(connectionString);
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = TimeSpan.FromSeconds(10);
                        cluster.CheckinMisfireThreshold = TimeSpan.FromSeconds(30);
                    });
                }
                else
                {
                    store.UseSqlite(connectionString);
                }

                store.ProvisionSchema();
                store.UseSystemTextJsonSerializer();
            });
        });

        // Synchronised before the scheduler starts, so no trigger fires for a removed module; started at once, or in
        // one instance only shortly before its first trigger is due (SchedulerStart), rather than by Quartz's hosted service.
        services.AddSingleton<ScheduleSynchronizer>();
        services.AddSingleton<SchedulerStart>();
        services.AddHostedService(sp => sp.GetRequiredService<SchedulerStart>());
        return services;
    }
}
