using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;

namespace CiRunner.Tests.Results;

/// <summary>A job's whole lockfile (migration 0019): written as the job starts, read back as a replay needs it, kept by retention.</summary>
public abstract class JobLockfileStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected JobLockfileStoreTests(IStoreUnderTest temp)
    {
        _temp = temp;
        _store = _temp.CreateStore();
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task RecordLockfileAsync_TwoJobsOfOneScenario_ReadBackWholeWithEachTextStoredOnce()
    {
        // Given two started jobs that ran the same scenario text
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade(), Samples.Deploy()], CancellationToken.None);
        foreach (JobRecord job in run.Jobs)
        {
            await _store.Jobs.MarkStartedAsync(job.Id, "sha256:image", null, CancellationToken.None);
        }

        // When their lockfiles are recorded
        JobLockfile lockfile = Lockfile();
        await _store.JobProgress.RecordLockfileAsync(run.Jobs[0].Id, lockfile, CancellationToken.None);
        await _store.JobProgress.RecordLockfileAsync(run.Jobs[1].Id, lockfile, CancellationToken.None);

        // Then each reads back whole, with the image id the engine resolved, and each text is stored once
        JobLockfile read = (await _store.Jobs.GetLockfileAsync(run.Jobs[0].Id, CancellationToken.None))!;
        Assert.Equal(("basic", "cirunner/release:zed", "zed", "none", InitSystem.Systemd, "sha256:image"), (read.Scenario, read.Image, read.ImageRelease, read.NetworkMode, read.Init, read.ImageId));
        Assert.Equal([("deploy", "aaaa"), ("upgrade", "bbbb")], read.Modules.Select(m => (m.Phase, m.CommitSha)));
        Assert.Equal(lockfile.Files, read.Files);
        Assert.Equal(["deploy", "upgrade"], read.Phases.Select(p => p.Name));
        StepDefinition step = read.Phases[1].Steps[1];
        Assert.Equal((StepKind.Command, "check", TimeSpan.FromMinutes(3)), (step.Kind, step.Name, step.Timeout));
        Assert.Equal(["grep", "-q", "ok", "/etc/x"], step.Command);
        await using System.Data.Common.DbConnection connection = await _temp.OpenConnectionAsync();
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM lockfile_texts"));
    }

    [Fact]
    public async Task GetLockfileAsync_JobThatNeverRecordedOne_IsNull()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.JobProgress.RecordModulesAsync(run.Jobs[0].Id, [new JobModuleRecord("keystone", "/repos/keystone", "master", "aaaa")], CancellationToken.None);

        Assert.Null(await _store.Jobs.GetLockfileAsync(run.Jobs[0].Id, CancellationToken.None));
        Assert.Null(await _store.Jobs.GetLockfileAsync(999, CancellationToken.None));
    }

    [Fact]
    public async Task PruneAsync_OldJob_KeepsItsLockfileSoItCanStillBeReplayed()
    {
        // Given an old finished job with a lockfile and a newer job that is now its cell's result
        RunDetail old = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(old.Jobs[0].Id, "sha256:image", null, CancellationToken.None);
        await _store.JobProgress.RecordLockfileAsync(old.Jobs[0].Id, Lockfile(), CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(old.Jobs[0].Id, JobResult.Failure, "failed", CancellationToken.None);
        RunDetail newer = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(newer.Jobs[0].Id, "sha256:image", null, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(newer.Jobs[0].Id, JobResult.Success, "passed", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromDays(100));

        // When retention prunes what is older than 90 days
        await _store.Retention.PruneAsync(_temp.Time.GetUtcNow().AddDays(-90), CancellationToken.None);

        // Then the old job's lockfile is all there
        JobLockfile kept = (await _store.Jobs.GetLockfileAsync(old.Jobs[0].Id, CancellationToken.None))!;
        Assert.Equal(2, kept.Modules.Count);
        Assert.Equal(2, kept.Files.Count);
    }

    private static JobLockfile Lockfile()
    {
        IReadOnlyList<StepDefinition> steps =
        [
            new StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(30)),
            new StepDefinition(StepKind.Command, "check", ["grep", "-q", "ok", "/etc/x"], TimeSpan.FromMinutes(3)),
        ];
        return new JobLockfile(
            "basic",
            [new JobModuleRecord("keystone", "/repos/keystone", "stable/zed", "aaaa", "deploy"), new JobModuleRecord("keystone", "/repos/keystone", "master", "bbbb", "upgrade")],
            "cirunner/release:zed",
            "zed",
            "none",
            InitSystem.Systemd,
            null,
            null,
            [new LockfilePhase("deploy", "basic.pp", steps), new LockfilePhase("upgrade", "basic.pp", steps)],
            [ScenarioText.Of("basic.yaml", ScenarioTextRole.Scenario, "name: basic\n"), ScenarioText.Of("basic.pp", ScenarioTextRole.Manifest, "include keystone\n")]);
    }
}

/// <summary>The <see cref="JobLockfileStoreTests"/> contract on a SQLite file.</summary>
public sealed class JobLockfileStoreOnSqliteTests() : JobLockfileStoreTests(new TempDatabase());

/// <summary>The <see cref="JobLockfileStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class JobLockfileStoreOnPostgresTests() : JobLockfileStoreTests(new TempPostgresDatabase());
