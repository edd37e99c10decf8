namespace CiRunner.Configuration;

/// <summary>
/// The <c>Store</c> section: which database holds runs, jobs and the queue. <c>sqlite</c> (the default) is one file
/// in the data directory for one instance; <c>postgresql</c> is a database several instances share.
/// </summary>
public sealed class StoreOptions
{
    public const string SectionName = "Store";

    public const string Sqlite = "sqlite";

    public const string PostgreSql = "postgresql";

    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    [Matches("^(sqlite|postgresql)$", ErrorMessage = "sqlite (one file in the data directory, the default) or postgresql (a database several instances share)")]
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// Name of the environment variable that holds the PostgreSQL connection string (unless <see cref="ConnectionStringFile"/>
    /// is set): it carries a password, so it never appears in the configuration or the logs.
    /// </summary>
    [Text(TextKind.EnvironmentVariable, ErrorMessage = OptionValues.EnvironmentVariableExpected)]
    public string ConnectionStringVariable { get; set; } = "CIRUNNER_STORE_CONNECTION";

    /// <summary>A file holding the PostgreSQL connection string, readable only by the service's user; replaces <see cref="ConnectionStringVariable"/> when set. Absolute after validation.</summary>
    [Text(TextKind.Path, ErrorMessage = "the path of a file holding the PostgreSQL connection string, readable only by the service's user")]
    public string? ConnectionStringFile { get; set; }

    /// <summary>Whether the store is PostgreSQL.</summary>
    public bool IsPostgreSql => Provider == PostgreSql;

    /// <summary>Where the connection string comes from: <see cref="ConnectionStringFile"/> when set, else <see cref="ConnectionStringVariable"/>.</summary>
    public SecretReference ConnectionString => ConnectionStringFile is { Length: > 0 } file
        ? SecretReference.FromFile(file, $"{SectionName}:{nameof(ConnectionStringFile)}")
        : SecretReference.FromVariable(ConnectionStringVariable, $"{SectionName}:{nameof(ConnectionStringVariable)}");
}
