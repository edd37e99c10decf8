using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Web;

/// <summary>
/// A job's lockfile over HTTP: <c>GET /api/jobs/{id}/lockfile</c>, the job page's Lockfile section and its Replay
/// button, and <c>POST /api/jobs/{id}/replay</c>, which queues a replay run linked to the job.
/// </summary>
[Trait("Category", "Service")]
[Collection(ProcessEnvironment.Name)]
public sealed class LockfileApiTests : IAsyncLifetime, IDisposable
{
    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly int _port = FreePort.Next();
    private readonly string _tokenVariable = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";
    private WebApplication? _app;
    private ResultsStore _store = null!;
    private long _withLockfile;
    private long _withoutLockfile;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, "s3cret");
        CiRunnerSettings settings = _folder.LoadLocalSite(_remote, _port, folder => folder.Set("Http:ApiTokenVariable", _tokenVariable));

        // Given a failed job with a whole lockfile, and one from before lockfiles kept scenario texts (modules only)
        _store = new ResultsStore(new ResultsDatabase(settings.DataPaths.DatabaseFile, TimeProvider.System), TimeProvider.System);
        await _store.Database.EnsureSchemaAsync(CancellationToken.None);
        RunDetail run = await _store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "master", new string('a', 40)),
            [new NewJob("2024.2/basic", JobKind.Deploy, "2024.2", null, "basic"), new NewJob("2024.1/basic", JobKind.Deploy, "2024.1", null, "basic")],
            CancellationToken.None);
        (_withLockfile, _withoutLockfile) = (run.Jobs[0].Id, run.Jobs[1].Id);
        foreach (long job in new[] { _withLockfile, _withoutLockfile })
        {
            Assert.True(await _store.Jobs.MarkStartedAsync(job, "sha256:image", null, CancellationToken.None));
        }

        await _store.JobProgress.RecordLockfileAsync(_withLockfile, new JobLockfile(
            "basic",
            [new JobModuleRecord("keystone", _remote.Path, "master", new string('a', 40))],
            "cirunner/release:2024.2",
            "2024.2",
            "none",
            InitSystem.None,
            null,
            null,
            [new LockfilePhase("deploy", "basic.pp", [new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(30))])],
            [ScenarioText.Of("basic.yaml", ScenarioTextRole.Scenario, "name: basic\n"), ScenarioText.Of("basic.pp", ScenarioTextRole.Manifest, "notify { '<basic>': }\n")]),
            CancellationToken.None);
        await _store.JobProgress.RecordModulesAsync(_withoutLockfile, [new JobModuleRecord("keystone", _remote.Path, "master", new string('a', 40))], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(_withLockfile, JobResult.Failure, "failure: apply", CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(_withoutLockfile, JobResult.Success, "passed", CancellationToken.None);

        _app = await InProcessHost.StartAsync(settings);
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, null);
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task GetLockfile_JobWithOne_ReturnsImageFilesWithTextAndStepsAsJson()
    {
        using HttpClient client = Client(token: null);

        JsonElement lockfile = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_withLockfile}/lockfile", UriKind.Relative))).RootElement;

        Assert.Equal(("cirunner/release:2024.2", "sha256:image", "none"), (lockfile.GetProperty("image").GetString(), lockfile.GetProperty("imageId").GetString(), lockfile.GetProperty("init").GetString()));
        JsonElement manifest = lockfile.GetProperty("files")[1];
        Assert.Equal(("basic.pp", "manifest", "notify { '<basic>': }\n"), (manifest.GetProperty("path").GetString(), manifest.GetProperty("role").GetString(), manifest.GetProperty("text").GetString()));
        Assert.Equal(ScenarioText.HashOf("notify { '<basic>': }\n"), manifest.GetProperty("hash").GetString());
        JsonElement step = lockfile.GetProperty("phases")[0].GetProperty("steps")[0];
        Assert.Equal(("apply", 1800.0), (step.GetProperty("kind").GetString(), step.GetProperty("timeoutSeconds").GetDouble()));
        Assert.Equal(new string('a', 40), lockfile.GetProperty("modules")[0].GetProperty("commitSha").GetString());
        Assert.Equal(JsonValueKind.Null, lockfile.GetProperty("replay").ValueKind);
    }

    [Fact]
    public async Task GetLockfile_JobFromBeforeWholeLockfiles_Is404SayingWhy()
    {
        using HttpClient client = Client(token: null);

        using HttpResponseMessage response = await client.GetAsync(new Uri($"/api/jobs/{_withoutLockfile}/lockfile", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains($"Job {_withoutLockfile} has no complete lockfile", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobPage_JobWithLockfile_ShowsItAndAReplayButton()
    {
        using HttpClient client = Client(token: null);

        string page = await client.GetStringAsync(new Uri($"/jobs/{_withLockfile}", UriKind.Relative));
        string older = await client.GetStringAsync(new Uri($"/jobs/{_withoutLockfile}", UriKind.Relative));

        Assert.Contains("<h2>Lockfile</h2>", page, StringComparison.Ordinal);
        Assert.Contains("notify { &#x27;&lt;basic&gt;&#x27;: }", page, StringComparison.Ordinal);
        Assert.Contains($"<form method=\"post\" action=\"/jobs/{_withLockfile}/replay\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("/replay\"", older, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostReplay_WithToken_QueuesAReplayRunLinkedToTheJob()
    {
        using HttpClient anonymous = Client(token: null);
        using HttpClient client = Client(token: "s3cret");

        using HttpResponseMessage refused = await anonymous.PostAsync(new Uri($"/api/jobs/{_withLockfile}/replay", UriKind.Relative), null);
        using HttpResponseMessage response = await client.PostAsync(new Uri($"/api/jobs/{_withLockfile}/replay", UriKind.Relative), null);
        using HttpResponseMessage noLockfile = await client.PostAsync(new Uri($"/api/jobs/{_withoutLockfile}/replay", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        JsonElement created = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(_withLockfile, created.GetProperty("replayOf").GetInt64());
        RunRecord run = (await _store.Runs.GetAsync(created.GetProperty("runId").GetInt64(), CancellationToken.None))!;
        JobRecord replay = (await _store.Jobs.GetAsync(created.GetProperty("jobId").GetInt64(), CancellationToken.None))!;
        Assert.Equal((RunCause.Replay, "keystone", new string('a', 40)), (run.Cause, run.Module, run.CommitSha));
        Assert.Equal(("2024.2/basic", (long?)_withLockfile), (replay.CellKey, replay.ReplayOf));
        Assert.Equal(HttpStatusCode.Conflict, noLockfile.StatusCode);
    }

    [Fact]
    public async Task ReplayButton_WithoutLogin_GoesToTheLoginPage()
    {
        using HttpClient client = Client(token: null);

        using HttpResponseMessage response = await client.PostAsync(new Uri($"/jobs/{_withLockfile}/replay", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"/login?returnUrl=%2Fjobs%2F{_withLockfile}", response.Headers.Location!.OriginalString);
    }

    private HttpClient Client(string? token)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}
