using CiRunner.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CiRunner.Results;

/// <summary>Registers the results store.</summary>
public static class ResultsServiceCollectionExtensions
{
    /// <summary>The results store the settings' <c>Store</c> section names; see <see cref="AddResultsStore(IServiceCollection, Func{StoreDialect}, string)"/>.</summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return services.AddResultsStore(() => StoreDialects.For(settings.Store, settings.DataPaths), settings.Service.InstanceId);
    }

    /// <summary>The results store on a SQLite file; see <see cref="AddResultsStore(IServiceCollection, Func{StoreDialect}, string)"/>.</summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services, string databaseFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseFile);
        return services.AddResultsStore(() => new SqliteDialect(databaseFile));
    }

    /// <summary>
    /// Registers <see cref="ResultsDatabase"/>, <see cref="ResultsStore"/> and its parts (<see cref="RunStore"/>,
    /// <see cref="JobStore"/>, <see cref="JobProgressStore"/>, <see cref="PollStateStore"/>, <see cref="PollStatusStore"/>, <see cref="CellResultStore"/>) as singletons, and a
    /// hosted service that migrates the schema at start, so a database from a newer CiRunner stops the host
    /// before anything else touches it. Register it before the hosted services that use the store.
    /// </summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services, Func<StoreDialect> dialect, string instanceId = "default")
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(dialect);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(_ => dialect());
        services.AddSingleton(sp => new ResultsDatabase(
            sp.GetRequiredService<StoreDialect>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ResultsDatabase>>(),
            sp.GetService<Microsoft.Extensions.Options.IOptions<ServiceOptions>>()?.Value.DatabaseLockTimeout));
        services.AddSingleton(sp => new ResultsStore(
            sp.GetRequiredService<ResultsDatabase>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Runs);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Jobs);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().JobProgress);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().PollState);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().PollStatus);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Cells);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Retention);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Reports);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Rechecks);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Instances);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Bisects);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Health);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Flakes);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().CellHistory);
        services.AddSingleton(sp => sp.GetRequiredService<ResultsStore>().Schedule);
        services.AddHostedService(sp => new ResultsSchemaMigrator(sp.GetRequiredService<ResultsDatabase>(), instanceId, sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => new InstanceCheckIn(
            sp.GetRequiredService<InstanceStore>(),
            instanceId,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<InstanceCheckIn>>(),
            sp.GetService<IEngineReport>()));
        services.AddHostedService(sp => new QuietPollFlush(
            sp.GetRequiredService<PollStatusStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<QuietPollFlush>>()));
        return services;
    }
}

/// <summary>
/// Takes the store's instance lock when the host starts (a second <c>serve</c> on the same database stops here, before
/// its recovery could close the first one's running jobs) and brings the schema up to date; at stop, leaves the
/// database complete and lets the lock go.
/// </summary>
internal sealed class ResultsSchemaMigrator : IHostedService, IAsyncDisposable
{
    private readonly ResultsDatabase _database;
    private readonly string _instanceId;
    private readonly string _holder;
    private IAsyncDisposable? _instanceLock;

    public ResultsSchemaMigrator(ResultsDatabase database, string instanceId, TimeProvider timeProvider)
    {
        _database = database;
        _instanceId = instanceId;
        _holder = string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"instance {instanceId}, pid {Environment.ProcessId} on {Environment.MachineName}, since {timeProvider.GetUtcNow():yyyy-MM-dd HH:mm:ss}Z");
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _instanceLock = await _database.Dialect.AcquireInstanceLockAsync(_instanceId, _holder, cancellationToken);
        await _database.EnsureSchemaAsync(cancellationToken);
    }

    /// <summary>
    /// Last to stop (first registered): every job's end is written by now, so the write-ahead log is written back
    /// into the database file and a copy of the file alone is complete.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _database.CheckpointAsync(cancellationToken);
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _instanceLock, null) is { } held)
        {
            await held.DisposeAsync();
        }
    }
}
