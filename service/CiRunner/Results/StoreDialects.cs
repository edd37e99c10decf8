using CiRunner.Configuration;

namespace CiRunner.Results;

/// <summary>The one place the <c>Store</c> section becomes a <see cref="StoreDialect"/>.</summary>
public static class StoreDialects
{
    /// <summary>SQLite on the data directory's file, or PostgreSQL on the connection string the section's secret holds.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL without a connection string (the configuration check reports it first).</exception>
    public static StoreDialect For(StoreOptions store, DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(paths);
        if (!store.IsPostgreSql)
        {
            return new SqliteDialect(paths.DatabaseFile);
        }

        return new PostgresDialect(ConnectionString(store, paths));
    }

    /// <summary>The connection string of the store's database, for Quartz's tables beside the results. It may hold a password: never log it.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL without a connection string (the configuration check reports it first).</exception>
    public static string ConnectionString(StoreOptions store, DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(paths);
        return store.IsPostgreSql
            ? store.ConnectionString.Read()
                ?? throw new InvalidOperationException($"{store.ConnectionString.Key} names no PostgreSQL connection string: set it, or use Store:Provider sqlite.")
            : SqliteDialect.BuildConnectionString(paths.DatabaseFile);
    }
}
