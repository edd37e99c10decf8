using System.CommandLine;
using System.Net;
using System.Text.Json;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Web;

/// <summary>
/// A job whose log retention pruned (it finished 100 days ago, <c>Retention:MaxAge</c> is 90d, and a later job is its
/// cell's latest result) is marked as such on its page, on the log link, in the API and by <c>cirunner logs</c>,
/// rather than shown as a job that never had a log.
/// </summary>
[Trait("Category", "Service")]
public sealed class ExpiredLogTests : IAsyncLifetime, IDisposable
{
    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly int _port = FreePort.Next();
    private CiRunnerSettings _settings = null!;
    private WebApplication? _app;
    private long _pruned;
    private long _kept;

    public async Task InitializeAsync()
    {
        _settings = _folder.LoadLocalSite(_remote, _port);

        // Given: two jobs of one cell finished 100 days ago; retention at 90 days prunes the older one.
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddDays(-100));
        ResultsStore store = new(new ResultsDatabase(_settings.DataPaths.DatabaseFile, time), time);
        _pruned = await FinishedJobAsync(store, new string('a', 40));
        _kept = await FinishedJobAsync(store, new string('b', 40));
        time.SetUtcNow(TimeProvider.System.GetUtcNow());
        var retention = new RetentionJob(store.Retention, Options.Create(new RetentionOptions { MaxAge = TimeSpan.FromDays(90) }), _settings.DataPaths, time, NullLogger<RetentionJob>.Instance);
        Assert.Equal(1, (await retention.RunAsync(CancellationToken.None)).Jobs);

        _app = await InProcessHost.StartAsync(_settings);
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    /// <summary>After <see cref="DisposeAsync"/>: the service no longer writes into the folders.</summary>
    public void Dispose()
    {
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task PrunedJob_PageLogLinkApiAndLogsVerb_SayTheLogExpiredUnderRetentionMaxAge()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        string page = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri($"/jobs/{_pruned}", UriKind.Relative)));
        using HttpResponseMessage logLink = await client.GetAsync(new Uri($"/jobs/{_pruned}/log", UriKind.Relative));
        using HttpResponseMessage apiLog = await client.GetAsync(new Uri($"/api/jobs/{_pruned}/log", UriKind.Relative));
        using HttpResponseMessage liveLog = await client.GetAsync(new Uri($"/api/jobs/{_pruned}/log/stream", UriKind.Relative));
        JsonElement job = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_pruned}", UriKind.Relative))).RootElement.GetProperty("job");
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = await CliApplication.Build().Parse(["logs", _pruned.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", _settings.ConfigFile])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);

        string expired = $"The log of job {_pruned} expired: retention removed it";
        string why = "because the job finished more than Retention:MaxAge (90d) before";
        Assert.Contains(expired, page, StringComparison.Ordinal);
        Assert.Contains(why, page, StringComparison.Ordinal);
        Assert.DoesNotContain($"/jobs/{_pruned}/log\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Gone, logLink.StatusCode);
        Assert.Equal(HttpStatusCode.Gone, apiLog.StatusCode);
        Assert.Contains(expired, await apiLog.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Gone, liveLog.StatusCode);
        Assert.Contains(expired, await liveLog.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, job.GetProperty("prunedAt").ValueKind);
        Assert.Equal("failure", job.GetProperty("result").GetString());
        Assert.Equal(1, exitCode);
        Assert.Contains(expired, error.ToString(), StringComparison.Ordinal);
        Assert.Contains(why, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.ToString());
    }

    [Fact]
    public async Task KeptJob_ItsLogIsStillServed_AndNotMarkedExpired()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        string page = await client.GetStringAsync(new Uri($"/jobs/{_kept}", UriKind.Relative));
        using HttpResponseMessage log = await client.GetAsync(new Uri($"/api/jobs/{_kept}/log", UriKind.Relative));
        JsonElement job = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_kept}", UriKind.Relative))).RootElement.GetProperty("job");

        Assert.DoesNotContain("expired", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, log.StatusCode);
        Assert.Equal("job log\n", await log.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("prunedAt").ValueKind);
    }

    private async Task<long> FinishedJobAsync(ResultsStore store, string commit)
    {
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "master", commit),
            [new NewJob("2024.2/basic", JobKind.Deploy, "2024.2", null, "basic")],
            CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        string log = _settings.DataPaths.JobLogFile(run.Run.Id, jobId);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, "job log\n");
        Assert.True(await store.Jobs.MarkStartedAsync(jobId, "sha256:image", log, CancellationToken.None));
        await store.JobProgress.AddStepAsync(jobId, new NewStep(0, "deploy", "apply", StepKind.Apply, run.Run.CreatedAt, run.Run.CreatedAt, 2, JobResult.Failure), CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(jobId, commit.StartsWith('a') ? JobResult.Failure : JobResult.Success, $"summary of {commit[..4]}", CancellationToken.None);
        return jobId;
    }
}
