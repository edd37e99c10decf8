using System.Net.Http.Headers;
using System.Text;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Faults;

/// <summary>
/// The real service (<see cref="ServiceHost.Build"/>, as <c>cirunner serve</c> builds it) on a temp folder of its own,
/// for fault tests: a module <c>demo</c> whose remote is a real git repository (<see cref="Remote"/>, branch
/// <c>master</c>), one release <c>zed</c> on the test Puppet image, and a scenario <c>quick</c> whose only step is
/// a command printing <c>quick-v1</c>, so a job takes about a second of container time. Polls are driven by the test
/// (the schedule polls once at start, then hourly); logs are captured in <see cref="Logs"/>. Tests edit
/// <see cref="Configuration"/> or the files before <see cref="StartAsync"/>. The owning test class passes on xunit's
/// <see cref="IAsyncLifetime.DisposeAsync"/>, which stops the service and deletes its folders.
/// </summary>
public sealed class ServiceUnderTest : IAsyncLifetime
{
    public const string QuickScenario = """
        name: quick
        manifest: quick.pp
        modules: [demo]
        steps:
          - type: command
            name: marker
            command: [echo, quick-v1]

        """;

    private WebApplication? _app;

    public ServiceUnderTest(DockerEngineFixture engine, ITestOutputHelper output)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Logs = new CapturedLogs(output);
        Remote.Commit("master", "first");
        Folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{Remote.Path}',\n  :ref => 'master'\n");
        Folder.Write("scenarios/quick.pp", "notify { 'quick': }\n");
        Folder.Write("scenarios/quick.yaml", QuickScenario);
        Configuration = new TestConfiguration()
            .Set("Service:InstanceId", InstanceId)
            .Set("Service:DataDirectory", "data")
            .Set("Service:ScenariosDirectory", "scenarios")
            .AddModule("demo", Remote.Path, "master")
            .AddRelease("zed", engine.PuppetImage, "master")
            .Set("Docker:Endpoint", engine.Endpoint)
            .Set("Docker:ParallelJobs", 2)
            .Set("Docker:MemoryMb", 256)
            .Set("Schedule:PollInterval", "1h")
            .Set("Schedule:PollJitter", "0s")
            .Set("Http:Listen", $"http://127.0.0.1:{Port}")
            .Set("Http:ApiTokenVariable", TokenVariable)
            .Set("Logging:LogLevel:Default", "Information")
            .Set("Logging:LogLevel:Quartz", "Warning");
    }

    public TempDirectory Folder { get; } = new();

    public GitRemote Remote { get; } = new();

    public string InstanceId { get; } = DockerEngineFixture.NewInstanceId();

    public CapturedLogs Logs { get; }

    public TestConfiguration Configuration { get; }

    public int Port { get; } = FreePort.Next();

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    /// <summary>A variable of this service's own, so parallel tests never see each other's tokens.</summary>
    public string TokenVariable { get; } = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";

    public string Token { get; } = Guid.NewGuid().ToString("N");

    public CiRunnerSettings Settings { get; private set; } = null!;

    public string DatabaseFile => Settings.DataPaths.DatabaseFile;

    public IServiceProvider Services => _app!.Services;

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Writes the configuration, loads it as <c>serve</c> does (failing on any error) and starts the service.</summary>
    public async Task StartAsync()
    {
        string configFile = Configuration.WriteTo(Folder.Combine("appsettings.json"));
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        if (!loaded.Succeeded)
        {
            throw new InvalidOperationException(string.Join('\n', loaded.Errors));
        }

        Settings = loaded.Settings;
        Environment.SetEnvironmentVariable(TokenVariable, Token);
        _app = ServiceHost.Build(Settings, ConfigurationLoader.BuildConfiguration(configFile));
        _app.Services.GetRequiredService<ILoggerFactory>().AddProvider(Logs);
        await _app.StartAsync();
    }

    /// <summary>A client for the service's HTTP surface, with the API token.</summary>
    public HttpClient Client()
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromMinutes(3) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    /// <summary><c>POST /api/runs</c> for the head of master, as <c>cirunner trigger</c> does.</summary>
    public static async Task<HttpResponseMessage> TriggerAsync(HttpClient client)
    {
        using var body = new StringContent("""{"module":"demo","branch":"master"}""", Encoding.UTF8, "application/json");
        return await client.PostAsync(new Uri("/api/runs", UriKind.Relative), body);
    }

    /// <summary>Every run of the module, oldest first.</summary>
    public async Task<IReadOnlyList<RunRecord>> RunsAsync() =>
        (await Get<RunStore>().ListRecentAsync("demo", null, 500, CancellationToken.None)).Select(r => r.Run).Reverse().ToList();

    public Task<RunRecord> WaitForRunAsync(long runId) => RunWaits.ForRunAsync(Get<RunStore>(), runId);

    /// <summary>Stops the service (waiting for its jobs to end), so a test can look at what it left.</summary>
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            WebApplication app = _app;
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }

        // Pooled connections keep the database file open (a test may unmount the disk it is on).
        SqliteConnection.ClearAllPools();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await StopAsync();
        Environment.SetEnvironmentVariable(TokenVariable, null);
        Remote.Dispose();
        Folder.Dispose();
    }
}
