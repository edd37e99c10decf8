using System.Net;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.Web;

/// <summary>
/// The package snapshot an upgrade job used is part of its lockfile: <c>GET /api/jobs/{id}</c>, <c>GET /api/runs/{id}</c>
/// and the job page show it beside the module commits.
/// </summary>
[Trait("Category", "Service")]
public sealed class PackageSnapshotLockfileTests : IAsyncLifetime, IDisposable
{
    private const string SnapshotId = "sha256:5f2c7a0e9d1b4c3a8e6f0d2b1a9c8e7f6d5c4b3a2918f7e6d5c4b3a2f1e0d9c8";
    private const string Volume = "cirunner-snapshot-2024.2-0123456789ab";
    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly int _port = FreePort.Next();
    private WebApplication? _app;
    private long _runId;
    private long _upgradeJob;
    private long _deployJob;

    public async Task InitializeAsync()
    {
        CiRunnerSettings settings = _folder.LoadLocalSite(_remote, _port);

        // Given a finished run with an upgrade job that moved its node onto a snapshot, and a deploy job that used none
        var store = new ResultsStore(new ResultsDatabase(settings.DataPaths.DatabaseFile, TimeProvider.System), TimeProvider.System);
        RunDetail run = await store.Runs.CreateAsync(
            new NewRun(RunCause.Commit, "keystone", "master", new string('a', 40)),
            [
                new NewJob("2024.1->2024.2/basic:upgrade", JobKind.Upgrade, "2024.2", "2024.1", "basic"),
                new NewJob("2024.2/basic", JobKind.Deploy, "2024.2", null, "basic"),
            ],
            CancellationToken.None);
        (_runId, _upgradeJob, _deployJob) = (run.Run.Id, run.Jobs[0].Id, run.Jobs[1].Id);
        foreach (long job in new[] { _upgradeJob, _deployJob })
        {
            Assert.True(await store.Jobs.MarkStartedAsync(job, "sha256:image", null, CancellationToken.None));
        }

        var snapshot = new PackageSnapshotInfo("2024.2", Volume, SnapshotId, "sha256:release-image", 558);
        await store.Jobs.MarkFinishedAsync(_upgradeJob, new JobEnd(JobResult.Success, "passed") { PackageSnapshot = snapshot }, CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(_deployJob, JobResult.Success, "passed", CancellationToken.None);

        _app = await InProcessHost.StartAsync(settings);
    }

    public Task DisposeAsync() => InProcessHost.StopAsync(_app);

    public void Dispose()
    {
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task UpgradeJob_ApiAndPage_ShowItsPackageSnapshot()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        // When the job, its run and its page are read
        JsonElement job = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_upgradeJob}", UriKind.Relative))).RootElement.GetProperty("job");
        JsonElement runJobs = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/runs/{_runId}", UriKind.Relative))).RootElement.GetProperty("jobs");
        string page = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri($"/jobs/{_upgradeJob}", UriKind.Relative)));

        // Then each names the release, the id, the package count and the volume
        JsonElement snapshot = job.GetProperty("packageSnapshot");
        Assert.Equal(("2024.2", Volume, SnapshotId, 558),
            (snapshot.GetProperty("release").GetString(), snapshot.GetProperty("volume").GetString(), snapshot.GetProperty("id").GetString(), snapshot.GetProperty("packageCount").GetInt32()));
        JsonElement inRun = runJobs.EnumerateArray().Single(j => j.GetProperty("id").GetInt64() == _upgradeJob).GetProperty("packageSnapshot");
        Assert.Equal(SnapshotId, inRun.GetProperty("id").GetString());
        Assert.Contains("<h2>Package snapshot</h2>", page, StringComparison.Ordinal);
        Assert.Contains($"<dt>id</dt><dd><code>{SnapshotId}</code></dd><dt>packages</dt><dd>558</dd><dt>volume</dt><dd><code>{Volume}</code>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeployJob_ApiAndPage_HaveNoPackageSnapshot()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/") };

        JsonElement job = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/jobs/{_deployJob}", UriKind.Relative))).RootElement.GetProperty("job");
        string page = await client.GetStringAsync(new Uri($"/jobs/{_deployJob}", UriKind.Relative));

        Assert.Equal(JsonValueKind.Null, job.GetProperty("packageSnapshot").ValueKind);
        Assert.DoesNotContain("Package snapshot", page, StringComparison.Ordinal);
    }
}
