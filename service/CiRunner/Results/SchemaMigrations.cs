using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;

namespace CiRunner.Results;

/// <summary>One numbered script from <c>Results/Migrations/NNNN_name.sql</c>.</summary>
internal sealed record Migration(int Version, string Name, string Script);

/// <summary>
/// The embedded migration scripts, one list per database (<c>Results/Migrations/Sqlite</c>, <c>.../Postgres</c>), and
/// the code that brings a database up to date with them. Both lists end at the same version.
/// </summary>
internal static partial class SchemaMigrations
{
    private const string ResourcePrefix = "CiRunner.Results.Migrations.";

    private static readonly Dictionary<string, IReadOnlyList<Migration>> ByFolder = Load();

    public static int LatestVersion => For("Sqlite")[^1].Version;

    /// <summary>The scripts in one folder, oldest first.</summary>
    public static IReadOnlyList<Migration> For(string folder) => ByFolder[folder];

    /// <summary>
    /// Applies every migration above the database's version up to <paramref name="targetVersion"/>, all in one
    /// transaction, and returns the version the database is at afterwards.
    /// </summary>
    public static async Task<int> ApplyAsync(
        StoreDialect dialect,
        DbConnection connection,
        int targetVersion,
        TimeProvider timeProvider,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        // Under the writer's lock: a second process starting at the same moment waits for this one and then finds
        // nothing left to do, instead of applying the same scripts twice.
        await using DbTransaction transaction = await dialect.BeginWriteAsync(connection, cancellationToken);

        const string CreateVersionTable = """
            CREATE TABLE IF NOT EXISTS schema_version
            (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """;
        await connection.ExecuteAsync(new CommandDefinition(CreateVersionTable, transaction: transaction, cancellationToken: cancellationToken));

        int current = await ReadVersionAsync(dialect, connection, transaction, cancellationToken);
        if (current > LatestVersion)
        {
            throw new DatabaseSchemaTooNewException(dialect.Location, current, LatestVersion, dialect.PointElsewhere);
        }

        const string RecordVersion = "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt)";
        var applied = new List<Migration>();
        foreach (Migration migration in For(dialect.MigrationsFolder).Where(m => m.Version > current && m.Version <= targetVersion))
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
            logger.MigrationApplied(migration.Version, migration.Name, dialect.Location);
        }

        return applied.Count > 0 ? applied[^1].Version : current;
    }

    /// <summary>The database's schema version; 0 for a database no migration has touched.</summary>
    public static async Task<int> ReadVersionAsync(StoreDialect dialect, DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        string TableExists = dialect.VersionTableExistsSql;
        const string MaxVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

        long tables = await connection.ExecuteScalarAsync<long>(new CommandDefinition(TableExists, transaction: transaction, cancellationToken: cancellationToken));
        if (tables == 0)
        {
            return 0;
        }

        return checked((int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(MaxVersion, transaction: transaction, cancellationToken: cancellationToken)));
    }

    private static Dictionary<string, IReadOnlyList<Migration>> Load()
    {
        Assembly assembly = typeof(SchemaMigrations).Assembly;
        var byFolder = new Dictionary<string, List<Migration>>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            string name = resource[ResourcePrefix.Length..];
            int dot = name.IndexOf('.', StringComparison.Ordinal);
            string folder = dot > 0 ? name[..dot] : "";
            string fileName = name[(dot + 1)..];
            Match match = FileNamePattern().Match(fileName);
            if (dot <= 0 || !match.Success)
            {
                throw new InvalidOperationException($"Migration {name} is not named <Folder>/NNNN_name.sql.");
            }

            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            if (!byFolder.TryGetValue(folder, out List<Migration>? migrations))
            {
                byFolder[folder] = migrations = [];
            }

            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                reader.ReadToEnd()));
        }

        foreach ((string folder, List<Migration> migrations) in byFolder)
        {
            migrations.Sort((a, b) => a.Version.CompareTo(b.Version));

            // A gap or a duplicate means a script was renamed or lost; applying around it would build a schema no
            // other installation has. A list may start above 1 with a baseline (PostgreSQL's starts at 10).
            for (int i = 1; i < migrations.Count; i++)
            {
                if (migrations[i].Version != migrations[i - 1].Version + 1)
                {
                    throw new InvalidOperationException(
                        $"Migrations in {folder} must be numbered one after another without gaps; found {string.Join(", ", migrations.Select(m => m.Version))}.");
                }
            }
        }

        if (!byFolder.TryGetValue("Sqlite", out List<Migration>? sqlite) || sqlite[0].Version != 1)
        {
            throw new InvalidOperationException("The SQLite migration scripts under Results/Migrations/Sqlite must start at 0001.");
        }

        // Every database ends at the same schema version, or the same build would read two different schemas.
        if (byFolder.Values.Select(m => m[^1].Version).Distinct().Count() != 1)
        {
            throw new InvalidOperationException(
                $"Every migration folder must end at the same version; found {string.Join(", ", byFolder.Select(f => $"{f.Key} {f.Value[^1].Version}"))}.");
        }

        return byFolder.ToDictionary(f => f.Key, f => (IReadOnlyList<Migration>)f.Value, StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();
}
