using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Reporting;

/// <summary>The whole third-party CI path on the real Docker engine, beside the other Docker groups.</summary>
[CollectionDefinition(Name)]
public sealed class DockerReportingGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-reporting";
}

/// <summary>
/// A new patch set on a module's <c>refs/changes/*</c> is polled, run in Puppet containers, and reviewed on the
/// Gerrit stand-in with links that really serve the jobs' logs.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerReportingGroup.Name)]
public sealed class GerritPipelineTests : IAsyncLifetime, IDisposable
{
    private const string Project = "openstack/puppet-demo";

    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _folder = new();
    private readonly CapturedLogs _logs = new();
    private readonly string _userVariable = "CIRUNNER_TEST_GERRIT_USER_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private readonly string _passwordVariable = "CIRUNNER_TEST_GERRIT_PASSWORD_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly int _port = FreePort.Next();
    private GerritStandIn _gerrit = null!;
    private WebApplication? _app;

    public GerritPipelineTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
        _logs.Output = output;
    }

    public async Task InitializeAsync()
    {
        _gerrit = await GerritStandIn.StartAsync();
        Environment.SetEnvironmentVariable(_userVariable, _gerrit.Username);
        Environment.SetEnvironmentVariable(_passwordVariable, _gerrit.Password);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Environment.SetEnvironmentVariable(_userVariable, null);
        Environment.SetEnvironmentVariable(_passwordVariable, null);
        await _gerrit.DisposeAsync();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
        _logs.Dispose();
    }

    [Fact]
    public async Task NewPatchSet_RunsInContainers_ReviewedWithLinksThatServeTheLogs_NoContainerLeft()
    {
        string repository = _folder.Combine("remotes", "puppet-demo");
        GitRepositories.Create(repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {\n  notify { 'demo v1': }\n}\n",
        });
        await StartServiceAsync(repository);
        PollStatusStore polls = _app!.Services.GetRequiredService<PollStatusStore>();
        await WaitAsync("the first poll", async () => (await polls.GetAsync("demo", CancellationToken.None))?.LastSuccessAt is not null);

        // The author uploads patch set 1 of change 6001: Gerrit keeps it under refs/changes, master does not move.
        string patchSet = PushPatchSet(repository, 6001, "class demo {\n  file { '/etc/demo.conf': ensure => file, content => 'v2' }\n}\n");
        _gerrit.AddChange(Project, "master", 6001, patchSet);
        RunStore runs = _app.Services.GetRequiredService<RunStore>();
        RunRecord run = await WaitAsync("the patch-set run", async () => (await runs.ListRecentAsync("demo", null, 10, CancellationToken.None)).Select(r => r.Run).SingleOrDefault(r => r.Cause == RunCause.PatchSet));
        RunReportRecord report = await WaitAsync("the Gerrit report", async () =>
            (await _app.Services.GetRequiredService<ReportStore>().ListForRunAsync(run.Id, CancellationToken.None)).SingleOrDefault(r => r.Reporter == "gerrit" && r.State != ReportState.Pending));

        Assert.Equal(ReportState.Sent, report.State);
        var (text, _, _, votes) = Assert.Single(_gerrit.CiMessages(6001));
        Assert.Equal(1, votes["Verified"]);
        Assert.Contains("Acme CI: Build succeeded.", text, StringComparison.Ordinal);
        string[] jobLines = text.Split('\n').Where(l => l.StartsWith("- ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, jobLines.Length);
        Assert.Matches(@"^- cirunner-zed-converges http://127\.0\.0\.1:\d+/jobs/\d+ : SUCCESS in \d+s$", jobLines[0]);
        Assert.Matches(@"^- cirunner-zed-fails http://127\.0\.0\.1:\d+/jobs/\d+ : FAILURE in \d+s \(non-voting\)$", jobLines[1]);

        using var client = new HttpClient();
        string convergesLog = await client.GetStringAsync(new Uri(jobLines[0].Split(' ')[2] + "/log"));
        string failsLog = await client.GetStringAsync(new Uri(jobLines[1].Split(' ')[2] + "/log"));
        Assert.Contains("/etc/demo.conf", convergesLog, StringComparison.Ordinal);
        Assert.Contains("Could not find class ::nosuchclass", failsLog, StringComparison.Ordinal);
        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
    }

    private async Task StartServiceAsync(string repository)
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/converges.pp", "include demo\n");
        _folder.Write("scenarios/converges.yaml", "name: converges\nmanifest: converges.pp\nmodules: [demo]\nsteps:\n  - apply\n  - idempotency\n");
        _folder.Write("scenarios/fails.pp", "include nosuchclass\n");
        _folder.Write("scenarios/fails.yaml", "name: fails\nmanifest: fails.pp\nmodules: [demo]\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = repository, ["Branches"] = new JsonArray("master"), ["ChangeRefs"] = true }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 2, ["MemoryMb"] = 512 },
            ["Schedule"] = new JsonObject { ["PollInterval"] = "5s", ["PollJitter"] = "0s" },
            ["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{_port}" },
            ["Gerrit"] = new JsonObject
            {
                ["Url"] = _gerrit.Url.ToString(),
                [nameof(GerritOptions.UsernameVariable)] = _userVariable,
                [nameof(GerritOptions.PasswordVariable)] = _passwordVariable,
                ["CiName"] = "Acme CI",
                ["ContactUrl"] = "https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI",
                ["Voting"] = true,
                ["NonVotingScenarios"] = new JsonArray("fails"),
            },
            ["Reporting"] = new JsonObject { ["RetryDelay"] = "1s" },
        };
        string configFile = _folder.Write("appsettings.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        _app = ServiceHost.Build(loaded.Settings, ConfigurationLoader.BuildConfiguration(configFile), services => services.AddSingleton<ILoggerProvider>(_logs));
        await _app.StartAsync();
    }

    /// <summary>A commit on top of master, under the change's patch-set ref only, as a Gerrit upload leaves it.</summary>
    private static string PushPatchSet(string repository, int change, string initPp)
    {
        using var repo = new Repository(repository);
        Commit master = repo.Branches["master"].Tip;
        string commit = GitRepositories.Commit(repository, new Dictionary<string, string> { ["manifests/init.pp"] = initPp }, $"Change {change}");
        repo.Refs.UpdateTarget(repo.Refs["refs/heads/master"], master.Id);
        repo.Refs.Add($"refs/changes/{change % 100:00}/{change}/1", new ObjectId(commit));
        return commit;
    }

    private static Task<T> WaitAsync<T>(string what, Func<Task<T?>> probe) =>
        Eventually.ForAsync(what, probe, TimeSpan.FromMinutes(3), interval: TimeSpan.FromMilliseconds(200));
}
