using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Text;
using CiRunner.Cli;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// The real <c>cirunner serve</c> with Quartz, polling a git repository in a temp folder every 5 s (the smallest
/// interval the configuration allows), beside a module whose remote is unreachable.
/// </summary>
[Trait("Category", "Service")]
public sealed class PollingServeTests : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly string _tokenVariable = "CIRUNNER_TEST_TOKEN_" + Guid.NewGuid().ToString("N").ToUpperInvariant();

    public PollingServeTests()
    {
        _folder.Set("Modules:0:Url", _remote.Path);
        _folder.Set("Modules:1:Url", "https://127.0.0.1:1/puppet-openstacklib");
        for (int i = 0; i < 4; i++)
        {
            _folder.Set($"Releases:{i}:Image", Polling.PollingHarness.AbsentImage);
        }

        _folder.Set("Schedule:PollInterval", "00:00:05");
        _folder.Set("Schedule:PollJitter", "0s");
        _folder.Set("Http:ApiTokenVariable", _tokenVariable);
    }

    private string DatabaseFile => Path.Combine(_folder.Root, "data", "cirunner.db");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, null);
        SqliteConnection.ClearAllPools();
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Serve_PushedCommit_OneRunWithinAPollInterval_WhileAnUnreachableRemoteFails()
    {
        _remote.Commit("master");
        await using Service service = await Service.StartAsync(_folder);
        ResultsStore store = ResultsStore.Open(DatabaseFile);
        await WaitForAsync("the first poll of keystone", async () => (await store.PollStatus.GetAsync("keystone", default))?.LastSuccessAt is not null);
        string pushed = _remote.Commit("master");
        var sincePush = Stopwatch.StartNew();

        RunRecord run = await WaitForAsync("a run for the pushed commit", async () => (await RunsAsync(store)).SingleOrDefault());
        TimeSpan detectedAfter = sincePush.Elapsed;
        DateTimeOffset runCreated = run.CreatedAt;
        await WaitForAsync("another poll of keystone", async () => (await store.PollStatus.GetAsync("keystone", default))!.LastPollAt > runCreated);
        ModulePollStatus broken = await WaitForAsync("a failed poll of openstacklib", () => store.PollStatus.GetAsync("openstacklib", default));
        var status = new StringWriter();
        int statusExit = await InvokeAsync(["status", "--config", _folder.ConfigFile], status, new StringWriter());
        using var client = new HttpClient { BaseAddress = service.Url };
        DateTimeOffset modulesAsked = TimeProvider.System.GetUtcNow();
        using System.Text.Json.JsonDocument modules = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/modules", UriKind.Relative)));

        Assert.Equal((RunCause.Commit, "master", pushed), (run.Cause, run.Branch, run.CommitSha));
        Assert.True(detectedAfter < PollInterval + TimeSpan.FromSeconds(3), $"detected after {detectedAfter}");
        Assert.Single(await RunsAsync(store));
        Assert.Null(broken.LastSuccessAt);
        Assert.True(broken.TotalFailures >= 1);
        Assert.Contains("127.0.0.1", broken.LastError, StringComparison.Ordinal);
        Assert.Equal(0, statusExit);
        Assert.Contains("keystone", status.ToString(), StringComparison.Ordinal);
        Assert.Contains("openstacklib", status.ToString(), StringComparison.Ordinal);
        System.Text.Json.JsonElement keystone = modules.RootElement.EnumerateArray().Single(m => m.GetProperty("module").GetString() == "keystone");
        Assert.Equal(pushed, keystone.GetProperty("branches").EnumerateArray().Single().GetProperty("commitSha").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.String, keystone.GetProperty("poll").GetProperty("lastSuccessAt").ValueKind);
        DateTimeOffset nextPoll = keystone.GetProperty("nextPollAt").GetDateTimeOffset();
        Assert.InRange(nextPoll, modulesAsked - TimeSpan.FromSeconds(1), modulesAsked + PollInterval + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Serve_ApiAndTriggerVerb_NeedTheToken_AndResolveBranchesAndCommits()
    {
        string head = _remote.Commit("master");
        await using Service service = await Service.StartAsync(_folder);
        using var client = new HttpClient { BaseAddress = service.Url };
        using var body = new StringContent("""{"module":"keystone","branch":"master"}""", Encoding.UTF8, "application/json");

        using HttpResponseMessage withoutToken = await client.PostAsync(new Uri("/api/runs", UriKind.Relative), body);
        var noToken = new StringWriter();
        int noTokenExit = await InvokeAsync(["trigger", "--config", _folder.ConfigFile, "--module", "keystone", "--branch", "master"], new StringWriter(), noToken);
        Environment.SetEnvironmentVariable(_tokenVariable, "right-token");
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "wrong-token");
        using HttpResponseMessage wrongToken = await client.PostAsync(new Uri("/api/runs", UriKind.Relative), body);
        var triggered = new StringWriter();
        int triggerExit = await InvokeAsync(["trigger", "--config", _folder.ConfigFile, "--module", "keystone", "--branch", "master"], triggered, new StringWriter());
        var unknown = new StringWriter();
        int unknownExit = await InvokeAsync(["trigger", "--config", _folder.ConfigFile, "--module", "keystone", "--commit", "deadbeefdeadbeef"], new StringWriter(), unknown);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, withoutToken.StatusCode);
        Assert.Contains(_tokenVariable, await withoutToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, noTokenExit);
        Assert.Contains(_tokenVariable, noToken.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.Equal(0, triggerExit);
        Assert.Contains($"keystone master at {head[..10]}", triggered.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, unknownExit);
        Assert.Contains("Commit deadbeefdeadbeef is not in keystone's repository", unknown.ToString(), StringComparison.Ordinal);
        RunRecord run = Assert.Single(await RunsAsync(ResultsStore.Open(DatabaseFile)));
        Assert.Equal((RunCause.Manual, head), (run.Cause, run.CommitSha));
    }

    [Fact]
    public async Task Serve_Restart_CommitPushedWhileStoppedRunsOnce_ScheduleSurvives_NightlySkipsUnchanged()
    {
        _folder.Set("Schedule:NightlyCron", "0/2 * * * * ?");
        _folder.Set("Schedule:NightlySkipUnchanged", true);
        _remote.Commit("master");
        string stable = _remote.Branch("stable/2024.1", from: "master");
        ResultsStore store = ResultsStore.Open(DatabaseFile);

        (string Name, long Start)[] triggersBefore;
        await using (Service first = await Service.StartAsync(_folder))
        {
            await WaitForAsync("the first poll of keystone", async () => (await store.PollStatus.GetAsync("keystone", default))?.LastSuccessAt is not null);
            await WaitForAsync("the nightly run", async () => (await RunsAsync(store)).SingleOrDefault(r => r.Cause == RunCause.Nightly));
        }

        triggersBefore = await TriggersAsync();
        string pushed = _remote.Commit("master");
        DateTimeOffset restarted = TimeProvider.System.GetUtcNow();
        await using (Service second = await Service.StartAsync(_folder))
        {
            await WaitForAsync("a run for the commit pushed while stopped", async () => (await RunsAsync(store)).SingleOrDefault(r => r.Cause == RunCause.Commit));
            await WaitForAsync("a later poll", async () => (await store.PollStatus.GetAsync("keystone", default))!.LastPollAt > restarted + PollInterval);
        }

        IReadOnlyList<RunRecord> runs = await RunsAsync(store);
        Assert.Equal(pushed, Assert.Single(runs, r => r.Cause == RunCause.Commit).CommitSha);
        RunRecord nightly = Assert.Single(runs, r => r.Cause == RunCause.Nightly);
        Assert.Equal(("stable/2024.1", stable), (nightly.Branch, nightly.CommitSha));
        Assert.Equal(2, runs.Count);
        // One instance fires its polls in process: the stored schedule holds the nightly, no poll trigger.
        Assert.DoesNotContain(triggersBefore, t => t.Name == "keystone");
        Assert.Contains(triggersBefore, t => t.Name == "nightly");
        Assert.Equal(triggersBefore, await TriggersAsync());
    }

    [Fact]
    public async Task Serve_NightlyDueWhileStopped_RunsOnceWhenTheServiceIsBack()
    {
        _remote.Commit("master");
        string stable = _remote.Branch("stable/2024.1", from: "master");

        // A one-off cron (with a year) a few seconds ahead, in the scheduler's time zone (the machine's): it comes
        // due while the service is stopped, and only the stored trigger's misfire handling can still run it.
        DateTimeOffset due = TimeProvider.System.GetUtcNow().AddSeconds(10);
        DateTime local = TimeZoneInfo.ConvertTime(due, TimeZoneInfo.Local).DateTime;
        _folder.Set("Schedule:NightlyCron", System.FormattableString.Invariant($"{local.Second} {local.Minute} {local.Hour} {local.Day} {local.Month} ? {local.Year}"));
        ResultsStore store = ResultsStore.Open(DatabaseFile);
        await using (Service first = await Service.StartAsync(_folder))
        {
            await WaitForAsync("the first poll of keystone", async () => (await store.PollStatus.GetAsync("keystone", default))?.LastSuccessAt is not null);
        }

        bool ranBeforeStop = (await RunsAsync(store)).Any(r => r.Cause == RunCause.Nightly);
        await WaitForAsync("the nightly time to pass", () => Task.FromResult(TimeProvider.System.GetUtcNow() > due.AddSeconds(1)), TimeSpan.FromSeconds(15));
        await using (Service second = await Service.StartAsync(_folder))
        {
            await WaitForAsync("the missed nightly run", async () => (await RunsAsync(store)).SingleOrDefault(r => r.Cause == RunCause.Nightly));
        }

        // The one-off cron is over now; a start must log that rather than fail.
        await using (Service third = await Service.StartAsync(_folder))
        {
        }

        Assert.False(ranBeforeStop, "the service took too long to start; the nightly fired before it was stopped");
        RunRecord nightly = Assert.Single(await RunsAsync(store), r => r.Cause == RunCause.Nightly);
        Assert.Equal(("stable/2024.1", stable), (nightly.Branch, nightly.CommitSha));
        Assert.True(nightly.CreatedAt > due, $"created {nightly.CreatedAt:O}, due {due:O}");
    }

    [Fact]
    public async Task Serve_NightlyMoreThanAMinuteAway_SchedulerStartsAMinuteBefore_NightlyRunsOnTime()
    {
        _remote.Commit("master");
        string stable = _remote.Branch("stable/2024.1", from: "master");

        // Given a one-off nightly 75 s ahead (in whole seconds, in the scheduler's time zone): more than a minute away,
        // so the scheduler is not started with the service
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        var due = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(75);
        DateTime local = TimeZoneInfo.ConvertTime(due, TimeZoneInfo.Local).DateTime;
        _folder.Set("Schedule:NightlyCron", System.FormattableString.Invariant($"{local.Second} {local.Minute} {local.Hour} {local.Day} {local.Month} ? {local.Year}"));
        ResultsStore store = ResultsStore.Open(DatabaseFile);

        // When the service starts
        await using Service service = await Service.StartAsync(_folder);

        // Then /healthz says the scheduler starts a minute before the nightly, and the nightly still runs on time
        using var client = new HttpClient();
        using HttpResponseMessage health = await client.GetAsync(new Uri(service.Url, "healthz"));
        using var body = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        Assert.Equal(
            System.FormattableString.Invariant($"ok (starts at {due - SchedulerStart.Lead:u}, before its first trigger is due)"),
            body.RootElement.GetProperty("scheduler").GetString());
        RunRecord nightly = await WaitForAsync("the nightly run", async () => (await RunsAsync(store)).SingleOrDefault(r => r.Cause == RunCause.Nightly), TimeSpan.FromSeconds(120));
        Assert.Equal(("stable/2024.1", stable), (nightly.Branch, nightly.CommitSha));
        Assert.True(nightly.CreatedAt >= due, $"created {nightly.CreatedAt:O}, due {due:O}");
    }

    private static async Task<IReadOnlyList<RunRecord>> RunsAsync(ResultsStore store) =>
        (await store.Runs.ListRecentAsync("keystone", null, 100, default)).Select(r => r.Run).ToList();

    /// <summary>The stored triggers with their start times: unchanged across a restart means the schedule was kept, not re-created.</summary>
    private async Task<(string Name, long Start)[]> TriggersAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False");
        await connection.OpenAsync();
        IEnumerable<(string, long)> rows = await connection.QueryAsync<(string, long)>(
            "SELECT TRIGGER_NAME, START_TIME FROM QRTZ_TRIGGERS WHERE SCHED_NAME = @Name ORDER BY TRIGGER_NAME",
            new { Name = SchedulingServiceCollectionExtensions.SchedulerName });
        return rows.ToArray();
    }

    private static Task<T> WaitForAsync<T>(string what, Func<Task<T?>> probe, TimeSpan? timeout = null) =>
        Eventually.ForAsync(what, probe, timeout ?? Patience);

    private static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error) =>
        CliApplication.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);

    /// <summary>One <c>serve</c> process-in-a-task on a port of its own; disposing stops it and waits for it to end.</summary>
    private sealed class Service : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly StringWriter _error = new();
        private Task<int> _serving = Task.FromResult(0);

        public Uri Url { get; private set; } = null!;

        public static async Task<Service> StartAsync(ConfigFolder folder)
        {
            int port = FreePort.Next();
            folder.Set("Http:Listen", $"http://127.0.0.1:{port}");
            folder.Save();
            var service = new Service { Url = new Uri($"http://127.0.0.1:{port}/") };
            service._serving = InvokeAsync(["serve", "--config", folder.ConfigFile], new StringWriter(), service._error, service._stop.Token);
            await service.WaitForHealthAsync();
            return service;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            int exitCode = await _serving.WaitAsync(Patience);
            _stop.Dispose();
            Assert.True(exitCode == 0, _error.ToString());
        }

        private static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
            CliApplication.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);

        private async Task WaitForHealthAsync()
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

            // Any answer will do: with no engine behind the folder's endpoint the service reports itself degraded (503).
            await Eventually.TrueAsync("serve to answer /healthz", async () =>
            {
                if (_serving.IsCompleted)
                {
                    throw new InvalidOperationException($"serve exited with {await _serving} before answering /healthz: {_error}");
                }

                try
                {
                    using HttpResponseMessage response = await client.GetAsync(new Uri(Url, "healthz"));
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, Patience, () => _error.ToString());
        }
    }
}
