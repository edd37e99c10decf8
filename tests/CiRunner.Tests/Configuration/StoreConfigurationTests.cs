using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>The <c>Store</c> section: SQLite by default, PostgreSQL only with a connection string from a secret.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StoreConfigurationTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_NoStoreSection_IsSqliteInTheDataDirectory()
    {
        CiRunnerSettings settings = _folder.Load().Settings!;

        Assert.Equal(("sqlite", false), (settings.Store.Provider, settings.Store.IsPostgreSql));
    }

    [Fact]
    public void Load_UnknownProvider_NamesTheTwoThatExist()
    {
        _folder.Set("Store:Provider", "mysql");

        ConfigurationError error = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Store:Provider", error.Location);
        Assert.Contains("sqlite (one file in the data directory, the default) or postgresql", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PostgresWithoutItsVariableSet_SaysWhichVariableToExport()
    {
        _folder.Set("Store:Provider", "postgresql");
        _folder.Set("Store:ConnectionStringVariable", "CIRUNNER_TEST_UNSET_STORE_CONNECTION");

        ConfigurationError error = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Store:ConnectionStringVariable", error.Location);
        Assert.Contains("CIRUNNER_TEST_UNSET_STORE_CONNECTION is not set: export CIRUNNER_TEST_UNSET_STORE_CONNECTION=", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConnectionStringInTheFile_IsRefusedAndNeverEchoed()
    {
        _folder.Set("Store:Provider", "postgresql");
        _folder.Set("Store:ConnectionString", "Host=db;Username=ci;Password=hunter2-secret");

        IReadOnlyList<ConfigurationError> errors = _folder.Load().Errors;

        ConfigurationError refused = Assert.Single(errors, e => e.Location == "Store:ConnectionString");
        Assert.DoesNotContain("hunter2", string.Join("\n", errors), StringComparison.Ordinal);
        Assert.Contains("no secret in configuration", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConnectionStringFileOthersCanRead_IsRefusedWithTheChmod()
    {
        string file = _folder.Write("secrets/store", "Host=db;Username=ci;Password=x");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        _folder.Set("Store:Provider", "postgresql");
        _folder.Set("Store:ConnectionStringFile", "secrets/store");

        ConfigurationError error = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Store:ConnectionStringFile", error.Location);
        Assert.Contains("chmod 600", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConnectionStringFileSafe_IsPostgresWithTheSecretReadFromIt()
    {
        string file = _folder.Write("secrets/store", "Host=db;Username=ci;Password=x\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _folder.Set("Store:Provider", "postgresql");
        _folder.Set("Store:ConnectionStringFile", "secrets/store");

        CiRunnerSettings settings = _folder.Load().Settings!;

        Assert.True(settings.Store.IsPostgreSql);
        Assert.Equal("Host=db;Username=ci;Password=x", settings.Store.ConnectionString.Read());
    }
}
