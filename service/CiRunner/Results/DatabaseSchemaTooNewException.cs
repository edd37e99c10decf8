namespace CiRunner.Results;

/// <summary>The results database was migrated by a newer CiRunner; this build must not write to it.</summary>
public sealed class DatabaseSchemaTooNewException : Exception
{
    public DatabaseSchemaTooNewException(string location, int databaseVersion, int codeVersion, string pointElsewhere = "point Service:DataDirectory elsewhere")
        : base($"The results database {location} was written by a newer CiRunner (schema {databaseVersion}, this build knows {codeVersion}); upgrade cirunner or {pointElsewhere}.")
    {
        Location = location;
        DatabaseVersion = databaseVersion;
        CodeVersion = codeVersion;
    }

    /// <summary>The SQLite file, or <c>postgresql://host:port/name</c>.</summary>
    public string Location { get; }

    public int DatabaseVersion { get; }

    public int CodeVersion { get; }
}
