using System.Data.Common;
using CiRunner.Configuration;
using CiRunner.Results;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Fixtures;

/// <summary>A data directory of its own under the temp folder, with the results database in it; deleted at dispose.</summary>
public sealed class TempDatabase : IStoreUnderTest
{
    public static readonly DateTimeOffset Start = new(2025, 4, 1, 2, 0, 0, TimeSpan.Zero);

    public TempDatabase()
    {
        Folder = Path.Combine(Path.GetTempPath(), "cirunner-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Paths = new DataPaths(Path.Combine(Folder, "data"));
    }

    /// <summary>The folder that holds everything; a configuration file written here finds the data directory as <c>data</c>.</summary>
    public string Folder { get; }

    public DataPaths Paths { get; }

    public string DatabaseFile => Paths.DatabaseFile;

    public FakeTimeProvider Time { get; } = new(Start);

    /// <summary>A new database instance on the file: a separate pool user, like a second process.</summary>
    public ResultsDatabase CreateDatabase() => new(DatabaseFile, Time);

    public ResultsStore CreateStore() => new(CreateDatabase(), Time);

    /// <summary>A connection straight to the file, without migrating: for tests that build or inspect a schema by hand.</summary>
    public async Task<SqliteConnection> OpenRawAsync()
    {
        Directory.CreateDirectory(Paths.Root);
        var connection = new SqliteConnection(SqliteDialect.BuildConnectionString(DatabaseFile));
        await connection.OpenAsync();
        return connection;
    }

    async Task<DbConnection> IStoreUnderTest.OpenConnectionAsync() => await OpenRawAsync();

    /// <summary>Writes <c>appsettings.json</c> pointing <c>Service:DataDirectory</c> at <see cref="Paths"/>; returns its path.</summary>
    public string WriteConfig()
    {
        string file = Path.Combine(Folder, "appsettings.json");
        File.WriteAllText(file, """{ "Service": { "DataDirectory": "data" } }""");
        return file;
    }

    public void Dispose()
    {
        // Pooled connections keep the file open; release them before removing the folder.
        using (var connection = new SqliteConnection(SqliteDialect.BuildConnectionString(DatabaseFile)))
        {
            SqliteConnection.ClearPool(connection);
        }

        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
