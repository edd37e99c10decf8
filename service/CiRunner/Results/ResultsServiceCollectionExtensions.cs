using CiRunner.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CiRunner.Results;

/// <summary>Registers the results store.</summary>
public static class ResultsServiceCollectionExtensions
{
    /// <summary>The results store on the data directory's database file; see <see cref="AddResultsStore(IServiceCollection, string)"/>.</summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services, DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return services.AddResultsStore(paths.DatabaseFile);
    }

    /// <summary>
    /// Registers <see cref="ResultsDatabase"/>, <see cref="ResultsStore"/> and its parts (<see cref="RunStore"/>,
    /// <see cref="JobStore"/>, <see cref="JobProgressStore"/>, <see cref="PollStateStore"/>, <see cref="PollStatusStore"/>, <see cref="CellResultStore"/>) as singletons, and a
    /// hosted service that migrates the schema at start, so a database from a newer CiRunner stops the host
    /// before anything else touches it. Register it before the hosted services that use the store.
    /// </summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services, string databaseFile)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseFile);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new ResultsDatabase(
            databaseFile,
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
