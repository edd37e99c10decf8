using System.Globalization;
using CiRunner.Configuration;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A whole service configuration in a temp folder for lifecycle tests: a real git repository of a Puppet module
/// (<c>demo</c>, branch <c>master</c>), one release <c>zed</c> on the given image, and scenarios that are single
/// <c>command</c> steps (<see cref="AddCommandScenario"/>), so a job lasts exactly as long as a test needs. Each folder
/// has an instance id and an HTTP port of its own.
/// </summary>
public sealed class ServiceFolder : IDisposable
{
    private readonly TempDirectory _folder = new();
    private int _pushes;

    public ServiceFolder(string image, string dockerEndpoint)
    {
        Repository = _folder.Combine("remotes", "puppet-demo");
        FirstCommit = GitRepositories.Create(Repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {\n  notify { 'demo': }\n}\n",
        });
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{Repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/demo.pp", "include demo\n");
        Configuration = new TestConfiguration()
            .Set("Service:InstanceId", InstanceId)
            .Set("Service:DataDirectory", "data")
            .Set("Service:ScenariosDirectory", "scenarios")
            .AddModule("demo", Repository, "master")
            .AddRelease("zed", image, "master")
            .Set("Docker:Endpoint", dockerEndpoint)
            .Set("Docker:ParallelJobs", 1)
            .Set("Docker:MemoryMb", 256)
            .Set("Schedule:PollInterval", "5s")
            .Set("Schedule:PollJitter", "0s")
            .Set("Http:Listen", $"http://127.0.0.1:{Port}")
            .Set("Http:ApiTokenVariable", TokenVariable)
            .Set("Logging:LogLevel:Default", "Information")
            .Set("Logging:LogLevel:Microsoft.AspNetCore", "Warning")
            .Set("Logging:LogLevel:Quartz", "Warning");
    }

    public string InstanceId { get; } = DockerEngineFixture.NewInstanceId();

    public int Port { get; } = FreePort.Next();

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    /// <summary>The variable a child process gets the API token in; unique, so parallel tests never share one.</summary>
    public string TokenVariable { get; } = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";

    public string Token { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The module's repository (a work tree: <see cref="Push"/> commits to it).</summary>
    public string Repository { get; }

    public string FirstCommit { get; }

    /// <summary>The configuration; edit it, then <see cref="Save"/> or <see cref="Load"/>.</summary>
    public TestConfiguration Configuration { get; }

    public string ConfigFile => _folder.Combine("appsettings.json");

    public string DatabaseFile => _folder.Combine("data", "cirunner.db");

    /// <summary>A scenario with one command step (an argument array) on the demo module.</summary>
    public void AddCommandScenario(string name, params string[] command)
    {
        string arguments = string.Join(", ", command.Select(a => $"'{a.Replace("'", "''", StringComparison.Ordinal)}'"));
        _folder.Write($"scenarios/{name}.yaml", $"name: {name}\nmanifest: demo.pp\nmodules: [demo]\nsteps:\n  - type: command\n    name: {name}\n    command: [{arguments}]\n");
    }

    /// <summary>Stores results in PostgreSQL: the connection string in a 0600 secret file, as an operator keeps it.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public ServiceFolder UsePostgres(string connectionString)
    {
        string secret = _folder.Write("secrets/store", connectionString);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Configuration.Set("Store:Provider", "postgresql").Set("Store:ConnectionStringFile", "secrets/store");
        return this;
    }

    /// <summary>
    /// Tracks <paramref name="other"/>'s module repository and reads its scenarios, as a second machine of one CI does
    /// (its own instance id, port and data directory).
    /// </summary>
    public ServiceFolder ShareModuleAndScenariosOf(ServiceFolder other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Configuration
            .Set("Modules:0:Url", other.Repository)
            .Set("Service:ScenariosDirectory", Path.Combine(Path.GetDirectoryName(other.ConfigFile)!, "scenarios"));
        return this;
    }

    /// <summary>A new commit on master of the module's repository, as a push does; returns its sha.</summary>
    public string Push()
    {
        int push = Interlocked.Increment(ref _pushes);
        return GitRepositories.Commit(Repository, new Dictionary<string, string> { ["NOTES"] = $"push {push.ToString(CultureInfo.InvariantCulture)}\n" }, $"push {push}");
    }

    /// <summary>Asks the running service for a manual run of master through <c>POST /api/runs</c>; returns the run's id.</summary>
    public async Task<long> TriggerAsync()
    {
        using HttpClient client = ApiClient();
        using var body = new StringContent("""{"module":"demo","branch":"master"}""", System.Text.Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await client.PostAsync(new Uri("api/runs", UriKind.Relative), body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, text);
        using var created = System.Text.Json.JsonDocument.Parse(text);
        return created.RootElement.GetProperty("runId").GetInt64();
    }

    /// <summary>A client of the service's API with the token.</summary>
    private HttpClient ApiClient()
    {
        var client = new HttpClient { BaseAddress = BaseUrl };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    /// <summary>Cancels a run through <c>POST /api/runs/{id}/cancel</c>; returns the answer's JSON.</summary>
    public async Task<System.Text.Json.JsonElement> CancelAsync(long runId)
    {
        using HttpClient client = ApiClient();
        using HttpResponseMessage response = await client.PostAsync(new Uri($"api/runs/{runId.ToString(CultureInfo.InvariantCulture)}/cancel", UriKind.Relative), content: null);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var answer = System.Text.Json.JsonDocument.Parse(text);
        return answer.RootElement.Clone();
    }

    public string Save()
    {
        return Configuration.WriteTo(ConfigFile);
    }

    public CiRunnerSettings Load()
    {
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(Save());
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return loaded.Settings!;
    }

    /// <summary>The service's host in this process, as <c>cirunner serve</c> builds it (not started).</summary>
    public WebApplication BuildHost()
    {
        CiRunnerSettings settings = Load();
        return ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
