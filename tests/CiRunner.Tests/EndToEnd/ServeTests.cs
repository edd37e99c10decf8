using System.Net;
using System.Text.Json;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.Data.Sqlite;

namespace CiRunner.Tests.EndToEnd;

/// <summary>The real <c>cirunner serve</c> host, in process, on a loopback port of its own, with no Docker engine behind it.</summary>
[Trait("Category", "Service")]
public sealed class ServeTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Serve_ValidConfigurationWithoutAnEngine_MigratesReportsTheEngineDownAndStopsWhenCancelled()
    {
        int port = FreePort.Next();
        _folder.Set("Http:Listen", $"http://127.0.0.1:{port}");
        _folder.Save();
        using var stop = new CancellationTokenSource();
        var error = new StringWriter();

        Task<int> serving = InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), error, stop.Token);
        (HttpStatusCode status, JsonElement body) = await InProcessServe.WaitForHealthAsync(port, serving);
        await stop.CancelAsync();
        int exitCode = await serving.WaitAsync(TimeSpan.FromSeconds(30));

        // The folder's engine endpoint is a socket nobody listens on: the service runs, and its health says what is missing.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("degraded", body.GetProperty("status").GetString());
        Assert.StartsWith("ok (schema ", body.GetProperty("database").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("error: ", body.GetProperty("docker").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
        Assert.True(File.Exists(Path.Combine(_folder.Root, "data", "cirunner.db")), error.ToString());
    }

    [Fact]
    public async Task Serve_BrokenConfiguration_RefusesToStartWithTheErrorsValidatePrints()
    {
        _folder.Set("Docker:ParallelJobs", "two");
        _folder.Set("Schedule:NightlyCron", "every night");
        _folder.Save();
        var serveError = new StringWriter();
        var validateError = new StringWriter();

        int serveExit = await InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), serveError, CancellationToken.None);
        int validateExit = await InProcessServe.InvokeAsync(["validate", "--config", _folder.ConfigFile], new StringWriter(), validateError, CancellationToken.None);

        Assert.Equal(1, serveExit);
        Assert.Equal(1, validateExit);
        Assert.Contains("Docker:ParallelJobs: 'two'", serveError.ToString(), StringComparison.Ordinal);
        Assert.Contains("Schedule:NightlyCron", serveError.ToString(), StringComparison.Ordinal);
        Assert.StartsWith(validateError.ToString(), serveError.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_folder.Root, "data")), "a refused start must not create the data directory");
    }

    [Fact]
    public async Task Serve_ListenAddressInUse_RefusesInOneLineBeforeTouchingTheDatabase()
    {
        using var other = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        other.Start();
        int port = ((IPEndPoint)other.LocalEndpoint).Port;
        _folder.Set("Http:Listen", $"http://127.0.0.1:{port}");
        _folder.Save();
        var error = new StringWriter();

        int exitCode = await InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), error, CancellationToken.None);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"Http:Listen: cannot listen on http://127.0.0.1:{port}: another process listens on port {port} there (another CiRunner instance?); stop it, or set a free port; the service did not start.",
            error.ToString().TrimEnd());
        Assert.False(File.Exists(Path.Combine(_folder.Root, "data", "cirunner.db")), "a refused start must not create or migrate the database");
    }

    [Fact]
    public async Task Serve_DatabaseFromANewerCiRunner_RefusesAndLeavesItUntouched()
    {
        _folder.Set("Http:Listen", $"http://127.0.0.1:{FreePort.Next()}");
        _folder.Save();
        string database = Path.Combine(_folder.Root, "data", "cirunner.db");
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
                INSERT INTO schema_version VALUES (1, 'initial', '2030-01-01T00:00:00.000Z'), (99, 'future', '2030-01-01T00:00:00.000Z');
                """;
            command.ExecuteNonQuery();
        }

        var error = new StringWriter();
        int exitCode = await InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), error, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains("newer CiRunner (schema 99", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_SecondInstanceOnTheSameStore_RefusedNamingTheFirstAndStartsOnceItStopped()
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
        Assert.StartsWith($"The results database {Path.Combine(_folder.Root, "data", "cirunner.db")} is in use by another cirunner process ", line, StringComparison.Ordinal);
        Assert.Contains($"(instance ci-east, pid {Environment.ProcessId} on {Environment.MachineName}, since ", line, StringComparison.Ordinal);
        Assert.EndsWith("SQLite serves one instance: stop that one, or give this one its own Service:DataDirectory.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ChecksIn_ApiAndQueuePageShowTheInstanceServingThenStopped()
    {
        int port = FreePort.Next();
        _folder.Set("Http:Listen", $"http://127.0.0.1:{port}");
        _folder.Set("Service:InstanceId", "ci-east");
        _folder.Save();
        using var stop = new CancellationTokenSource();

        Task<int> serving = InProcessServe.InvokeAsync(["serve", "--config", _folder.ConfigFile], new StringWriter(), new StringWriter(), stop.Token);
        await InProcessServe.WaitForHealthAsync(port, serving);
        using var client = new HttpClient();
        JsonElement instances = await Eventually.ForAsync<JsonElement?>("the instance to check in", async () =>
        {
            using JsonDocument document = JsonDocument.Parse(await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/instances")));
            return document.RootElement.GetArrayLength() > 0 ? document.RootElement.Clone() : null;
        }, TimeSpan.FromSeconds(30)) ?? default;
        string page = await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/queue"));
        await stop.CancelAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(30));

        JsonElement instance = Assert.Single(instances.EnumerateArray());
        Assert.Equal(("ci-east", Environment.MachineName, (long)Environment.ProcessId), (instance.GetProperty("id").GetString(), instance.GetProperty("host").GetString(), instance.GetProperty("pid").GetInt64()));
        Assert.Equal(JsonValueKind.Null, instance.GetProperty("stoppedAt").ValueKind);
        Assert.Equal((ConfigFolder.NoEngine, 2), (instance.GetProperty("engine").GetString(), instance.GetProperty("capacity").GetInt32()));
        Assert.Contains("<td>ci-east</td>", page, StringComparison.Ordinal);
        Assert.Contains($"<td>{ConfigFolder.NoEngine}", page, StringComparison.Ordinal);
        Assert.Contains("<td>0 of 2</td>", page, StringComparison.Ordinal);
        Assert.Contains("<td>serving</td>", page, StringComparison.Ordinal);
        InstanceRecord stopped = Assert.Single(await ResultsStore.Open(Path.Combine(_folder.Root, "data", "cirunner.db")).Instances.ListAsync(CancellationToken.None));
        Assert.NotNull(stopped.StoppedAt);
    }

}
