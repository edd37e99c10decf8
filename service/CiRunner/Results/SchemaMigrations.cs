using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CiRunner.Results;

/// <summary>One numbered script from <c>Results/Migrations/NNNN_name.sql</c>.</summary>
internal sealed record Migration(int Version, string Name, string Script);

/// <summary>The embedded migration scripts and the code that brings a database up to date with them.</summary>
internal static partial class SchemaMigrations
{
    private const string ResourcePrefix = "CiRunner.Results.Migrations.";

    public static IReadOnlyList<Migration> All { get; } = Load();

    public static int LatestVersion => All[^1].Version;

    /// <summary>
    /// Applies every migration above the database's version up to <paramref name="targetVersion"/>, all in one
    /// transaction, and returns the version the database is at afterwards.
    /// </summary>
    public static async Task<int> ApplyAsync(
        SqliteConnection connection,
        string databaseFile,
        int targetVersion,
        TimeProvider timeProvider,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        // BEGIN IMMEDIATE (the provider's default): a second process starting at the same moment waits
        // for this one and then finds nothing left to do, instead of applying the same scripts twice.
        await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken);

        const string CreateVersionTable = """
            CREATE TABLE IF NOT EXISTS schema_version
            (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """;
        await connection.ExecuteAsync(new CommandDefinition(CreateVersionTable, transaction: transaction, cancellationToken: cancellationToken));

        int current = await ReadVersionAsync(connection, transaction, cancellationToken);
        if (current > LatestVersion)
        {
            throw new DatabaseSchemaTooNewException(databaseFile, current, LatestVersion);
        }

        const string RecordVersion = "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt)";
        var applied = new List<Migration>();
        foreach (Migration migration in All.Where(m => m.Version > current && m.Version <= targetVersion))
        {
            await connection.ExecuteAsync(new CommandDefinition(migration.Script, transaction: transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                RecordVersion,
                new { migration.Version, migration.Name, AppliedAt = DbValue.Time(DbValue.Now(timeProvider)) },
                transaction,
                cancellationToken: cancellationToken));
            applied.Add(migration);
        }

        await transaction.CommitAsync(cancellationToken);

        // Logged after the commit: until then nothing was applied.
        foreach (Migration migration in applied)
        {
            logger.MigrationApplied(migration.Version, migration.Name, databaseFile);
        }

        return applied.Count > 0 ? applied[^1].Version : current;
    }

    /// <summary>The database's schema version; 0 for a database no migration has touched.</summary>
    public static async Task<int> ReadVersionAsync(SqliteConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        const string TableExists = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";
        const string MaxVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

        long tables = await connection.ExecuteScalarAsync<long>(new CommandDefinition(TableExists, transaction: transaction, cancellationToken: cancellationToken));
        if (tables == 0)
        {
            return 0;
        }

        return checked((int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(MaxVersion, transaction: transaction, cancellationToken: cancellationToken)));
    }

    private static List<Migration> Load()
    {
        Assembly assembly = typeof(SchemaMigrations).Assembly;
        var migrations = new List<Migration>();
        foreach (string resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            string fileName = resource[ResourcePrefix.Length..];
            Match match = FileNamePattern().Match(fileName);
            if (!match.Success)
            {
                throw new InvalidOperationException($"Migration {fileName} is not named NNNN_name.sql.");
            }

            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));

        // A gap or a duplicate means a script was renamed or lost; applying around it would build a schema no
        // other installation has.
        for (int i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException(
                    $"Migrations must be numbered 1, 2, 3, ... without gaps; found {string.Join(", ", migrations.Select(m => m.Version))}.");
            }
        }

        if (migrations.Count == 0)
        {
            throw new InvalidOperationException("No migration scripts are embedded under Results/Migrations.");
        }

        return migrations;
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();
}
