namespace CiRunner.Results;

/// <summary>The results database was migrated by a newer CiRunner; this build must not write to it.</summary>
public sealed class DatabaseSchemaTooNewException : Exception
{
    public DatabaseSchemaTooNewException(string databaseFile, int databaseVersion, int codeVersion)
        : base($"The results database {databaseFile} was written by a newer CiRunner (schema {databaseVersion}, this build knows {codeVersion}); upgrade cirunner or point Service:DataDirectory elsewhere.")
    {
        DatabaseFile = databaseFile;
        DatabaseVersion = databaseVersion;
        CodeVersion = codeVersion;
    }

    public string DatabaseFile { get; }

    public int DatabaseVersion { get; }

    public int CodeVersion { get; }
}
