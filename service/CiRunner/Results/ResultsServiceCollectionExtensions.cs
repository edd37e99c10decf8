using CiRunner.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CiRunner.Results;

/// <summary>Registers the results store.</summary>
public static class ResultsServiceCollectionExtensions
{
    /// <summary>The results store the settings' <c>Store</c> section names; see <see cref="AddResultsStore(IServiceCollection, Func{StoreDialect})"/>.</summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return services.AddResultsStore(() => StoreDialects.For(settings.Store, settings.DataPaths));
    }

    /// <summary>The results store on a SQLite file; see <see cref="AddResultsStore(IServiceCollection, Func{StoreDialect})"/>.</summary>
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
    public static IServiceCollection AddResultsStore(this IServiceCollection services, Func<StoreDialect> dialect)
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
        services.AddHostedService<ResultsSchemaMigrator>();
        return services;
    }
}

/// <summary>Brings the results schema up to date when the host starts.</summary>
internal sealed class ResultsSchemaMigrator : IHostedService
{
    private readonly ResultsDatabase _database;

    public ResultsSchemaMigrator(ResultsDatabase database)
    {
        _database = database;
    }

    public Task StartAsync(CancellationToken cancellationToken) => _database.EnsureSchemaAsync(cancellationToken);

    /// <summary>
    /// Last to stop (first registered): every job's end is written by now, so the write-ahead log is written back
    /// into the database file and a copy of the file alone is complete.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) => _database.CheckpointAsync(cancellationToken);
}
