using System.Text.Json;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using Dapper;

namespace CiRunner.Tests.EndToEnd;

/// <summary>The real <c>cirunner serve</c> and the reading verbs with <c>Store:Provider postgresql</c>, on a database of their own on the local PostgreSQL.</summary>
[Trait("Category", "Postgres")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PostgresServeTests : IDisposable
{
    private readonly ConfigFolder _folder = new();
    private readonly TempPostgresDatabase _database = new();

    public PostgresServeTests()
    {
        // A secret file only the service's user reads, as an operator would keep the password.
        string secret = _folder.Write("secrets/store", _database.ConnectionString);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _folder.Set("Store:Provider", "postgresql");
        _folder.Set("Store:ConnectionStringFile", "secrets/store");
    }

    public void Dispose()
    {
        _database.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Serve_OnPostgres_MigratesResultsAndClusteredQuartzTablesThereAndNoSqliteFile()
    {
        int port = FreePort.Next();
        _folder.Set("Http:Listen", $"http://127.0.0.1:{port}");
        _folder.Save();
        using var stop = new CancellationTokenSource();
        var output = new StringWriter();
        var error = new StringWriter();

        Task<int> serving = InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], output, error, stop.Token);
        JsonElement health = (await InProcessServe.WaitForHealthAsync(port, serving)).Body;
        long? checkIns = await Eventually.ForAsync<long?>(
            "the scheduler to check in to the cluster",
            async () => await CountAsync("SELECT COUNT(*) FROM qrtz_scheduler_state") is > 0 and var count ? count : null,
            TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        int exitCode = await serving.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal($"ok (schema {ResultsDatabase.CodeSchemaVersion})", health.GetProperty("database").GetString());
        Assert.Equal(1L, checkIns);
        Assert.Equal(ResultsDatabase.CodeSchemaVersion, await CountAsync("SELECT MAX(version) FROM schema_version"));
        Assert.Equal(0, exitCode);
        Assert.False(File.Exists(Path.Combine(_folder.Root, "data", "cirunner.db")), "a PostgreSQL store must not create a SQLite file");
        string logs = output.ToString() + error.ToString();
        Assert.DoesNotContain("cirunner-test", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_OnPostgres_ListsWhatTheStoreHolds()
    {
        _folder.Save();
        ResultsStore store = ResultsStore.Open(new PostgresDialect(_database.ConnectionString), _database.Time);
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        var output = new StringWriter();
        var error = new StringWriter();

        int exitCode = await InProcessServe.InvokeAsync(["runs", "--config", _folder.ConfigFile], output, error, CancellationToken.None);

        Assert.Equal((0, ""), (exitCode, error.ToString()));
        Assert.Contains($"{run.Run.Id}", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("keystone", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_PostgresDown_OneLineNamingTheDatabaseWithoutThePassword()
    {
        string secret = _folder.Write("secrets/store", "Host=127.0.0.1;Port=1;Username=cirunner_test;Password=hunter2-secret;Database=nowhere;Timeout=2");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _folder.Save();
        var error = new StringWriter();

        int exitCode = await InProcessServe.InvokeAsync(["runs", "--config", _folder.ConfigFile], new StringWriter(), error, CancellationToken.None);

        Assert.Equal(1, exitCode);
        string line = Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.StartsWith("Cannot read the results database postgresql://127.0.0.1:1/nowhere: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_SecondInstanceWithTheSameId_RefusedNamingTheFirstAndStartsOnceItStopped()
    {
        int port = FreePort.Next();
        _folder.Set("Http:Listen", $"http://127.0.0.1:{port}");
        _folder.Set("Service:InstanceId", "ci-east");
        _folder.Save();
        using var stop = new CancellationTokenSource();

        Task<int> first = InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), new StringWriter(), stop.Token);
        await InProcessServe.WaitForHealthAsync(port, first);
        var refusal = new StringWriter();
        int secondExit = await InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), refusal, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        int firstExit = await first.WaitAsync(TimeSpan.FromSeconds(30));
        using var stopAgain = new CancellationTokenSource();
        Task<int> again = InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), new StringWriter(), stopAgain.Token);
        await InProcessServe.WaitForHealthAsync(port, again);
        await stopAgain.CancelAsync();
        int againExit = await again.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((1, 0, 0), (secondExit, firstExit, againExit));
        string line = Assert.Single(refusal.ToString().TrimEnd().Split('\n'));
        Assert.StartsWith($"The results database postgresql://127.0.0.1:5432/{_database.Name} is in use by another cirunner process ", line, StringComparison.Ordinal);
        Assert.Contains($"(instance ci-east, pid {Environment.ProcessId} on {Environment.MachineName}", line, StringComparison.Ordinal);
        Assert.EndsWith("instance id 'ci-east' is already serving it: give each instance its own Service:InstanceId, or stop that one.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PostgresDown_RefusesInOneLineWithoutThePassword()
    {
        string secret = _folder.Write("secrets/store", "Host=127.0.0.1;Port=1;Username=cirunner_test;Password=hunter2-secret;Database=nowhere;Timeout=2");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _folder.Set("Http:Listen", $"http://127.0.0.1:{FreePort.Next()}");
        _folder.Save();
        var error = new StringWriter();

        int exitCode = await InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), error, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        string line = Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.StartsWith("Cannot open the results database postgresql://127.0.0.1:1/nowhere: ", line, StringComparison.Ordinal);
        Assert.EndsWith("; the service did not start.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using System.Data.Common.DbConnection connection = await _database.OpenConnectionAsync();
        try
        {
            return await connection.ExecuteScalarAsync<long?>(sql) ?? 0;
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            // Not created yet.
            return 0;
        }
    }

}
