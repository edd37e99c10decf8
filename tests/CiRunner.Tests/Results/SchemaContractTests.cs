using System.Data.Common;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;

namespace CiRunner.Tests.Results;

/// <summary>What every provider's migrations promise: applied once however many instances start together, and a newer schema refused.</summary>
public abstract class SchemaContractTests : IDisposable
{
    private readonly IStoreUnderTest _temp;

    protected SchemaContractTests(IStoreUnderTest temp)
    {
        _temp = temp;
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task EnsureSchemaAsync_FourInstancesStartTogether_EachMigrationRecordedOnce()
    {
        ResultsDatabase[] instances = [.. Enumerable.Range(0, 4).Select(_ => _temp.CreateDatabase())];

        await Task.WhenAll(instances.Select(i => Task.Run(() => i.EnsureSchemaAsync(CancellationToken.None))));

        await using DbConnection connection = await _temp.OpenConnectionAsync();
        long[] versions = [.. await connection.QueryAsync<long>("SELECT version FROM schema_version ORDER BY version")];
        Assert.Equal(versions.Distinct(), versions);
        Assert.Equal(ResultsDatabase.CodeSchemaVersion, versions[^1]);
    }

    [Fact]
    public async Task EnsureSchemaAsync_SchemaFromANewerCiRunner_RefusedNamingTheDatabaseAndTheFix()
    {
        await _temp.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);
        int newer = ResultsDatabase.CodeSchemaVersion + 1;
        await using (DbConnection connection = await _temp.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, 'from_the_future', '2030-01-01T00:00:00.000Z')",
                new { Version = newer });
        }

        ResultsDatabase database = _temp.CreateDatabase();
        DatabaseSchemaTooNewException refused = await Assert.ThrowsAsync<DatabaseSchemaTooNewException>(() => database.EnsureSchemaAsync(CancellationToken.None));

        Assert.Equal(database.Location, refused.Location);
        Assert.Contains($"(schema {newer}, this build knows {ResultsDatabase.CodeSchemaVersion}); upgrade cirunner or point ", refused.Message, StringComparison.Ordinal);
    }
}

public sealed class SchemaContractOnSqliteTests() : SchemaContractTests(new TempDatabase());

[Trait("Category", "Postgres")]
public sealed class SchemaContractOnPostgresTests() : SchemaContractTests(new TempPostgresDatabase());

/// <summary>The two providers' migrations build the same tables with the same columns, so one set of queries serves both.</summary>
[Trait("Category", "Postgres")]
public sealed class SchemaParityTests : IDisposable
{
    private readonly TempDatabase _sqlite = new();
    private readonly TempPostgresDatabase _postgres = new();

    public void Dispose()
    {
        _sqlite.Dispose();
        _postgres.Dispose();
    }

    [Fact]
    public void Migrations_EveryProvider_EndsAtTheSameVersion()
    {
        Assert.Equal(ResultsDatabase.CodeSchemaVersion, SchemaMigrations.For("Sqlite")[^1].Version);
        Assert.Equal(ResultsDatabase.CodeSchemaVersion, SchemaMigrations.For("Postgres")[^1].Version);
    }

    [Fact]
    public async Task Migrate_BothProviders_SameTablesWithTheSameColumns()
    {
        await _sqlite.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);
        await _postgres.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);

        SortedSet<string> sqlite;
        await using (DbConnection connection = await _sqlite.OpenRawAsync())
        {
            sqlite = [.. await connection.QueryAsync<string>("""
                SELECT m.name || '.' || p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'qrtz_%' COLLATE NOCASE
                """)];
        }

        SortedSet<string> postgres;
        await using (DbConnection connection = await _postgres.OpenConnectionAsync())
        {
            postgres = [.. await connection.QueryAsync<string>("""
                SELECT table_name || '.' || column_name FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name NOT LIKE 'qrtz_%'
                """)];
        }

        Assert.Equal(sqlite, postgres);
        Assert.Contains("jobs.package_snapshot_id", postgres);
    }
}
