using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// Phase snapshots on the real engine: a module whose version 1 (the from-release's) and version 2 (the target's)
/// both write /etc/demo/version. The upgrade cell saves its deploy and upgrade phases; the rollback cell of the same
/// run starts from the upgrade snapshot and runs only its rollback phase; a second run's upgrade cell starts from the
/// deploy snapshot. The same cells with <c>Snapshots:Enabled</c> off give the same results, step by step. The
/// rollback cell, queued beside the upgrade cell with two slots free, waits for it rather than deploy and upgrade itself.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class PhaseSnapshotTests : IDisposable
{
    private const string Version1 = """
        class demo {
          file { '/etc/demo': ensure => directory }
          file { '/etc/demo/version': ensure => file, content => "v1\n" }
        }
        """;

    private const string Version2 = """
        class demo {
          file { '/etc/demo': ensure => directory }
          file { '/etc/demo/version': ensure => file, content => "v2\n" }
        }
        """;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _repository;
    private readonly string _v2;

    public PhaseSnapshotTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("remotes", "puppet-demo");
        GitRepositories.Create(_repository, "stable/v1", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = Version1,
        });
        using (var repository = new Repository(_repository))
        {
            Commands.Checkout(repository, repository.CreateBranch("master"));
        }

        _v2 = GitRepositories.Commit(_repository, new Dictionary<string, string> { ["manifests/init.pp"] = Version2 }, "v2");
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task UpgradeAndRollbackCells_StartFromSnapshotsWithinAndAcrossRuns_AndGiveTheResultsOfCellsRunWithout()
    {
        string withSnapshots = DockerEngineFixture.NewInstanceId();
        string without = DockerEngineFixture.NewInstanceId();
        try
        {
            (Cells first, Cells second) = await RunTwiceAsync(withSnapshots, snapshots: true);
            (Cells plain, _) = await RunTwiceAsync(without, snapshots: false);

            // Within the first run: the upgrade cell saved both phases, the rollback cell started from its upgrade phase.
            JobDetail upgrade = first.Kind(":upgrade");
            JobDetail rollback = first.Kind(":rollback");
            Assert.Equal([("deploy", "made"), ("upgrade", "made")], upgrade.PhaseSnapshots.Select(s => (s.Phase, s.Role)));
            PhaseSnapshotUsed(rollback, "upgrade", upgrade);
            Assert.All(rollback.Steps.Where(s => s.Phase != "rollback"), s => Assert.Equal(TimeSpan.Zero, s.Duration));
            string rollbackLog = await File.ReadAllTextAsync(rollback.Job.LogPath!);
            Assert.Contains(
                $"phase upgrade from snapshot {Short(upgrade.PhaseSnapshots[1].ImageId)} (made by job {upgrade.Job.Id} of run {upgrade.Job.RunId}",
                rollbackLog,
                StringComparison.Ordinal);

            // Its log names the snapshot its container started from and the release image that grew from, and counts
            // only the files it copied in: the rollback phase's module set.
            Assert.Contains(
                $"started from phase snapshot {Short(upgrade.PhaseSnapshots[1].ImageId)} (cirunner/phase-snapshot:{upgrade.PhaseSnapshots[1].Key}) of release image {_engine.PuppetImage} ({rollback.Job.ImageId})",
                rollbackLog,
                StringComparison.Ordinal);
            Assert.Contains("copied 1 module(s) and ", rollbackLog, StringComparison.Ordinal);

            // Across runs: the second run's upgrade cell skipped its deploy phase, its rollback cell both.
            PhaseSnapshotUsed(second.Kind(":upgrade"), "deploy", upgrade);
            PhaseSnapshotUsed(second.Kind(":rollback"), "upgrade", upgrade);

            // Results do not change: every cell, step by step, as without snapshots.
            Assert.Equal(3, plain.Count);
            foreach (Cells run in (Cells[])[first, second])
            {
                foreach ((string cell, JobDetail expected) in plain)
                {
                    JobDetail actual = run[cell];
                    Assert.True(expected.Job.Result == JobResult.Success, expected.Job.Summary);
                    Assert.Equal(expected.Job.Result, actual.Job.Result);
                    Assert.Equal(expected.Steps.Select(s => (s.Phase, s.Name, s.Result)), actual.Steps.Select(s => (s.Phase, s.Name, s.Result)));
                    Assert.Equal(expected.Modules.Select(m => (m.Phase, m.Module, m.CommitSha)), actual.Modules.Select(m => (m.Phase, m.Module, m.CommitSha)));
                    Assert.Equal(expected.Job.ImageId, actual.Job.ImageId);
                }
            }

            Assert.All(plain.Values, j => Assert.Empty(j.PhaseSnapshots));
            Assert.Empty(await _engine.PhaseSnapshotsOfInstanceAsync(without));
            Assert.Equal(2, (await _engine.PhaseSnapshotsOfInstanceAsync(withSnapshots)).Count);
        }
        finally
        {
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(withSnapshots);
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(without);
        }

        Assert.Empty(await _engine.PhaseSnapshotsOfInstanceAsync(withSnapshots));
    }

    private static void PhaseSnapshotUsed(JobDetail job, string phase, JobDetail maker)
    {
        PhaseSnapshot used = Assert.Single(job.PhaseSnapshots, s => s.Role == PhaseSnapshot.Used);
        Assert.Equal(phase, used.Phase);
        Assert.Equal(maker.Job.Id, used.SourceJobId);
        Assert.Equal(maker.PhaseSnapshots.Single(s => s.Phase == phase).ImageId, used.ImageId);
    }

    private static string Short(string imageId) => imageId["sha256:".Length..][..12];

    /// <summary>Two manual runs of the same commit, one after the other, through a service of its own: each run's jobs by cell.</summary>
    private async Task<(Cells First, Cells Second)> RunTwiceAsync(string instanceId, bool snapshots)
    {
        CiRunnerSettings settings = WriteSettings(instanceId, snapshots);
        await using WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(settings.ConfigFile));
        await app.StartAsync();
        try
        {
            var runs = new List<Cells>();
            foreach (int _ in (int[])[1, 2])
            {
                RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                    .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", _v2, RequestedBy: "test"), CancellationToken.None);
                if (snapshots && runs.Count == 0)
                {
                    // The rollback cell waits for the upgrade cell, and the queue says so.
                    long upgrade = run.Jobs.Single(j => j.CellKey.EndsWith(":upgrade", StringComparison.Ordinal)).Id;
                    using var client = new HttpClient { BaseAddress = new Uri(settings.Http.Listen.Replace("*", "127.0.0.1", StringComparison.Ordinal)) };
                    await Eventually.TrueAsync(
                        "the queue to say the rollback cell waits for the upgrade cell",
                        async () => (await client.GetStringAsync(new Uri("api/queue", UriKind.Relative))).Contains($"waiting for job {upgrade} of this run", StringComparison.Ordinal),
                        TimeSpan.FromMinutes(1));
                }

                await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id);
                var cells = new Cells();
                foreach (JobRecord job in run.Jobs)
                {
                    cells[job.CellKey] = (await app.Services.GetRequiredService<JobStore>().GetDetailAsync(job.Id, CancellationToken.None))!;
                }

                runs.Add(cells);
            }

            Assert.Empty(await _engine.ContainersLeftAsync(instanceId));
            return (runs[0], runs[1]);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>A run's jobs by cell key.</summary>
    private sealed class Cells : Dictionary<string, JobDetail>
    {
        public Cells()
            : base(StringComparer.Ordinal)
        {
        }

        /// <summary>The one cell whose key ends with <paramref name="suffix"/> (<c>:upgrade</c>).</summary>
        public JobDetail Kind(string suffix) => this.Single(c => c.Key.EndsWith(suffix, StringComparison.Ordinal)).Value;
    }

    private CiRunnerSettings WriteSettings(string instanceId, bool snapshots)
    {
        string folder = _folder.Combine(instanceId);
        Directory.CreateDirectory(Path.Combine(folder, "scenarios", "puppetfiles"));
        File.WriteAllText(Path.Combine(folder, "scenarios/puppetfiles/zed.Puppetfile"), $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'stable/v1'\n");
        File.WriteAllText(Path.Combine(folder, "scenarios/puppetfiles/2023.1.Puppetfile"), $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        File.WriteAllText(Path.Combine(folder, "scenarios/version.pp"), "include demo\n");
        File.WriteAllText(Path.Combine(folder, "scenarios/version.yaml"), "name: version\nmanifest: version.pp\nmodules: [demo]\nupgrade: true\nrollback: true\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master", "stable/*") }),
            ["Releases"] = new JsonArray(
                new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("stable/v1"), ["Image"] = _engine.PuppetImage },
                new JsonObject { ["Name"] = "2023.1", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 2, ["MemoryMb"] = 512 },
            ["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{FreePort.Next()}" },
            ["Snapshots"] = new JsonObject { ["Enabled"] = snapshots },
        };
        File.WriteAllText(Path.Combine(folder, "appsettings.json"), config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(Path.Combine(folder, "appsettings.json"));
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return loaded.Settings!;
    }
}
