using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

public abstract class JobStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected JobStoreTests(IStoreUnderTest temp)
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
    public async Task MarkStartedAsync_QueuedJob_RunningWithImageLogAndRunStart()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(30));

        bool started = await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, "sha256:abc", "logs/1/1.log", CancellationToken.None);

        Assert.True(started);
        JobRecord? job = await _store.Jobs.GetAsync(run.Jobs[0].Id, CancellationToken.None);
        Assert.Equal((JobState.Running, "sha256:abc", "logs/1/1.log"), (job?.State, job?.ImageId, job?.LogPath));
        Assert.Equal(TempDatabase.Start.AddSeconds(30), job?.StartedAt);
        Assert.Equal(TempDatabase.Start.AddSeconds(30), (await _store.Runs.GetAsync(run.Run.Id, CancellationToken.None))?.StartedAt);

        // The run's start is its first job's start.
        _temp.Time.Advance(TimeSpan.FromSeconds(30));
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, CancellationToken.None);
        Assert.Equal(TempDatabase.Start.AddSeconds(30), (await _store.Runs.GetAsync(run.Run.Id, CancellationToken.None))?.StartedAt);
    }

    [Fact]
    public async Task MarkStartedAsync_WithInstanceAndEngine_EveryReadOfTheJobCarriesBoth()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);

        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, "sha256:abc", "logs/1/1.log", "ci-east", "pool-b", CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, "ci-east", CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Success, "ok", CancellationToken.None);

        // The job alone, with its detail, in its run and among the running ones; a start without an engine records none.
        JobRecord? withEngine = await _store.Jobs.GetAsync(run.Jobs[0].Id, CancellationToken.None);
        JobRecord? withoutEngine = await _store.Jobs.GetAsync(run.Jobs[1].Id, CancellationToken.None);
        Assert.Equal(("ci-east", "pool-b"), (withEngine?.InstanceId, withEngine?.Engine));
        Assert.Equal(("ci-east", (string?)null), (withoutEngine?.InstanceId, withoutEngine?.Engine));
        Assert.Equal("pool-b", (await _store.Jobs.GetDetailAsync(run.Jobs[0].Id, CancellationToken.None))?.Job.Engine);
        Assert.Equal(["pool-b", null], (await _store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!.Jobs.Select(j => j.Engine));
        Assert.Equal("pool-b", Assert.Single(await _store.Jobs.ListByStateAsync(JobState.Running, CancellationToken.None)).Engine);
    }

    [Fact]
    public async Task MarkStartedAsync_JobSupersededWhileQueued_ReturnsFalse()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Superseded, "newer head", CancellationToken.None);

        Assert.False(await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None));
        Assert.Null((await _store.Jobs.GetAsync(run.Jobs[0].Id, CancellationToken.None))?.StartedAt);
    }

    [Fact]
    public async Task MarkStartedAsync_UnknownJob_Throws()
    {
        await Assert.ThrowsAsync<KeyNotFoundException>(() => _store.Jobs.MarkStartedAsync(7, null, null, CancellationToken.None));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => _store.Jobs.MarkFinishedAsync(7, JobResult.Success, null, CancellationToken.None));
    }

    [Fact]
    public async Task MarkFinishedAsync_RunningJob_StoresResultDurationAndCell()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(cause: RunCause.Nightly), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(95.25));

        JobCompletion? completion = await _store.Jobs.MarkFinishedAsync(jobId, JobResult.Failure, "idempotency: 2 changes", CancellationToken.None);

        Assert.NotNull(completion);
        Assert.Null(completion.CompletedRun);
        JobRecord? stored = await _store.Jobs.GetAsync(jobId, CancellationToken.None);
        Assert.Equal(completion.Job, stored);
        Assert.Equal((JobState.Finished, JobResult.Failure, "idempotency: 2 changes"), (stored?.State, stored?.Result, stored?.Summary));
        Assert.Equal(TimeSpan.FromSeconds(95.25), stored?.Duration);
        Assert.Equal(
            new CellResultRecord("keystone", "stable/2024.1", "2024.1/scenario001", jobId, JobResult.Failure, Samples.Sha, TempDatabase.Start.AddSeconds(95.25)),
            Assert.Single(await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None)));
    }

    [Fact]
    public async Task MarkFinishedAsync_WithPackageSnapshot_KeepsItInTheJobsLockfile()
    {
        // Given an upgrade job whose node moved onto a package snapshot, and a deploy job that used none
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade(), Samples.Deploy()], CancellationToken.None);
        long upgrade = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(upgrade, null, null, CancellationToken.None);
        var snapshot = new PackageSnapshotInfo("2024.1", "cirunner-snapshot-2024.1-0123456789ab", "sha256:abcd", "sha256:image", 558);

        // When both finish, the upgrade job with its snapshot
        await _store.Jobs.MarkFinishedAsync(upgrade, new JobEnd(JobResult.Success, "passed") { PackageSnapshot = snapshot }, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Success, "passed", CancellationToken.None);

        // Then the job (and its detail) carries release, volume, id and package count; the other job none
        var expected = new JobPackageSnapshotRecord("2024.1", "cirunner-snapshot-2024.1-0123456789ab", "sha256:abcd", 558);
        Assert.Equal(expected, (await _store.Jobs.GetAsync(upgrade, CancellationToken.None))?.PackageSnapshot);
        Assert.Equal(expected, (await _store.Jobs.GetDetailAsync(upgrade, CancellationToken.None))?.Job.PackageSnapshot);
        Assert.Equal(expected, (await _store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))?.Jobs.Single(j => j.Id == upgrade).PackageSnapshot);
        Assert.Null((await _store.Jobs.GetAsync(run.Jobs[1].Id, CancellationToken.None))?.PackageSnapshot);
        Assert.Equal("2024.1 sha256:abcd (558 packages)", expected.ToString());
    }

    [Fact]
    public async Task MarkFinishedAsync_LastJobOfRun_CompletesRunWithCombinedResult()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2"), Samples.Upgrade()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Error, "image missing", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(3));

        JobCompletion? last = await _store.Jobs.MarkFinishedAsync(run.Jobs[2].Id, JobResult.Failure, null, CancellationToken.None);

        Assert.NotNull(last?.CompletedRun);
        Assert.Equal(JobResult.Failure, last.CompletedRun.Result);
        Assert.Equal(last.CompletedRun, await _store.Runs.GetAsync(run.Run.Id, CancellationToken.None));
        Assert.Equal(TempDatabase.Start.AddMinutes(3), last.CompletedRun.FinishedAt);
    }

    [Fact]
    public async Task MarkFinishedAsync_AlreadyFinished_ReturnsNullAndKeepsResult()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);

        Assert.Null(await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Cancelled, null, CancellationToken.None));
        Assert.Equal(JobResult.Success, (await _store.Jobs.GetAsync(run.Jobs[0].Id, CancellationToken.None))?.Result);
    }

    [Fact]
    public async Task MarkFinishedAsync_PatchSetRun_LeavesBranchCellAlone()
    {
        RunDetail branchRun = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(branchRun.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        RunDetail review = await _store.Runs.CreateAsync(
            Samples.Run(cause: RunCause.PatchSet, commitSha: "ffff", changeRef: "refs/changes/45/12345/3", patchSet: 3), [Samples.Deploy()], CancellationToken.None);

        await _store.Jobs.MarkFinishedAsync(review.Jobs[0].Id, JobResult.Failure, null, CancellationToken.None);

        CellResultRecord cell = Assert.Single(await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None));
        Assert.Equal((branchRun.Jobs[0].Id, JobResult.Success), (cell.JobId, cell.Result));
    }

    [Fact]
    public async Task MarkFinishedAsync_SupersededJob_CellKeepsLastVerdict()
    {
        RunDetail first = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(first.Jobs[0].Id, JobResult.Failure, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromHours(1));
        RunDetail second = await _store.Runs.CreateAsync(Samples.Run(commitSha: "bbbb"), [Samples.Deploy()], CancellationToken.None);

        await _store.Jobs.MarkFinishedAsync(second.Jobs[0].Id, JobResult.Superseded, null, CancellationToken.None);

        CellResultRecord cell = Assert.Single(await _store.Cells.ListAllAsync(CancellationToken.None));
        Assert.Equal((first.Jobs[0].Id, JobResult.Failure, Samples.Sha), (cell.JobId, cell.Result, cell.CommitSha));
    }

    [Fact]
    public async Task MarkFinishedAsync_NewerVerdict_ReplacesCell()
    {
        RunDetail first = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(first.Jobs[0].Id, JobResult.Failure, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromHours(1));
        RunDetail second = await _store.Runs.CreateAsync(Samples.Run(commitSha: "bbbb"), [Samples.Deploy()], CancellationToken.None);

        await _store.Jobs.MarkFinishedAsync(second.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);

        CellResultRecord cell = Assert.Single(await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None));
        Assert.Equal((second.Jobs[0].Id, JobResult.Success, "bbbb"), (cell.JobId, cell.Result, cell.CommitSha));
    }

    [Fact]
    public async Task GetDetailAsync_StepsChangesAndModules_RoundTrip()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        JobModuleRecord[] modules =
        [
            new("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.1", Samples.Sha),
            new("stdlib", "https://github.com/puppetlabs/puppetlabs-stdlib", null, "feedface"),
        ];
        DateTimeOffset stepStart = TempDatabase.Start.AddSeconds(10.1234567);

        await _store.JobProgress.RecordModulesAsync(jobId, modules, CancellationToken.None);
        StepRecord apply = await _store.JobProgress.AddStepAsync(jobId, Samples.Step(1, stepStart), CancellationToken.None);
        StepRecord again = await _store.JobProgress.AddStepAsync(
            jobId, Samples.Step(2, stepStart.AddMinutes(1), StepKind.Idempotency, exitCode: 2, JobResult.Failure), CancellationToken.None);
        NewIdempotencyChange[] changes = [Samples.Change(), Samples.Change("DEFAULT/use_stderr") with { PreviousValue = null, Module = null, ManifestFile = null, Line = null }];
        await _store.JobProgress.AddIdempotencyChangesAsync(jobId, again.Id, changes, CancellationToken.None);

        JobDetail? detail = await _store.Jobs.GetDetailAsync(jobId, CancellationToken.None);

        Assert.NotNull(detail);
        Assert.Equal(run.Jobs[0], detail.Job);
        Assert.Equal(modules, detail.Modules);
        Assert.Equal([apply, again], detail.Steps);
        Assert.Equal(TimeSpan.FromSeconds(42.5), apply.Duration);
        Assert.Equal(TempDatabase.Start.AddMilliseconds(10123), apply.StartedAt);
        Assert.Equal((StepKind.Idempotency, 2, JobResult.Failure, "deploy"), (again.Kind, again.ExitCode, again.Result, again.Phase));
        Assert.Equal(2, detail.Changes.Count);
        Assert.Equal(
            new IdempotencyChangeRecord(detail.Changes[0].Id, jobId, again.Id, "Keystone_config", "DEFAULT/debug", "value", "false", "true", "keystone",
                "/etc/puppet/modules/keystone/manifests/init.pp", 120),
            detail.Changes[0]);
        Assert.Equal((null, null, null, (int?)null), (detail.Changes[1].PreviousValue, detail.Changes[1].Module, detail.Changes[1].ManifestFile, detail.Changes[1].Line));
    }

    [Fact]
    public async Task RecordModulesAsync_ModuleRecordedAgain_Replaced()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await _store.JobProgress.RecordModulesAsync(jobId, [new("nova", "https://example.invalid/nova", "master", "aaaa")], CancellationToken.None);

        await _store.JobProgress.RecordModulesAsync(jobId, [new("nova", "https://example.invalid/nova", "master", "bbbb")], CancellationToken.None);

        Assert.Equal("bbbb", Assert.Single((await _store.Jobs.GetDetailAsync(jobId, CancellationToken.None))!.Modules).CommitSha);
    }

    [Fact]
    public async Task RecordModulesAsync_SameModuleInTwoPhases_BothKeptInPhaseOrder()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;

        await _store.JobProgress.RecordModulesAsync(jobId,
            [new("nova", "https://example.invalid/nova", "master", "bbbb", "upgrade"), new("nova", "https://example.invalid/nova", "stable/2023.1", "aaaa", "deploy")],
            CancellationToken.None);

        Assert.Equal([("deploy", "aaaa"), ("upgrade", "bbbb")], (await _store.Jobs.GetDetailAsync(jobId, CancellationToken.None))!.Modules.Select(m => (m.Phase, m.CommitSha)));
    }

    [Fact]
    public async Task GetDetailAsync_ARollbackJobsModulesAndPhaseSnapshots_InTheOrderItRanItsPhases()
    {
        // Given a rollback job whose modules were recorded out of order, and whose phase names sort otherwise (rollback < upgrade)
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade() with { CellKey = "2023.1->2024.1/scenario001:rollback", Kind = JobKind.Rollback }], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        await _store.JobProgress.RecordModulesAsync(
            jobId,
            [new("nova", "https://example.invalid/nova", "stable/2023.1", "aaaa", "rollback"), new("nova", "https://example.invalid/nova", "master", "bbbb", "upgrade"), new("nova", "https://example.invalid/nova", "stable/2023.1", "aaaa", "deploy")],
            CancellationToken.None);

        // When it finishes having started from a deploy snapshot and saved its later phases
        PhaseSnapshot Snapshot(string phase, string role) => new(phase, role, $"sha256:{phase}", $"key-{phase}", run.Run.Id, jobId);
        await _store.Jobs.MarkFinishedAsync(
            jobId,
            new JobEnd(JobResult.Success, "passed") { PhaseSnapshots = [Snapshot("rollback", PhaseSnapshot.Made), Snapshot("upgrade", PhaseSnapshot.Made), Snapshot("deploy", PhaseSnapshot.Used)] },
            CancellationToken.None);

        // Then its detail lists both by phase as the job ran them: deploy, upgrade, rollback
        JobDetail detail = (await _store.Jobs.GetDetailAsync(jobId, CancellationToken.None))!;
        Assert.Equal(["deploy", "upgrade", "rollback"], detail.Modules.Select(m => m.Phase));
        Assert.Equal([("deploy", "used"), ("upgrade", "made"), ("rollback", "made")], detail.PhaseSnapshots.Select(s => (s.Phase, s.Role)));
    }

    [Fact]
    public async Task AddIdempotencyChangesAsync_StepOfAnotherJob_Throws()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        StepRecord step = await _store.JobProgress.AddStepAsync(run.Jobs[0].Id, Samples.Step(1, TempDatabase.Start), CancellationToken.None);

        await Assert.ThrowsAsync<ArgumentException>(
            () => _store.JobProgress.AddIdempotencyChangesAsync(run.Jobs[1].Id, step.Id, [Samples.Change()], CancellationToken.None));
        Assert.Empty((await _store.Jobs.GetDetailAsync(run.Jobs[1].Id, CancellationToken.None))!.Changes);
    }

    [Fact]
    public async Task GetDetailAsync_UnknownJob_ReturnsNull()
    {
        Assert.Null(await _store.Jobs.GetDetailAsync(3, CancellationToken.None));
    }

    [Fact]
    public async Task ListByStateAsync_Queued_HighestPriorityThenOldestFirst()
    {
        RunDetail older = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(priority: JobPriority.Nightly), Samples.Deploy("2024.2", priority: JobPriority.Nightly)], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        RunDetail newer = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(priority: JobPriority.Manual)], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(older.Jobs[1].Id, null, null, CancellationToken.None);

        IReadOnlyList<JobRecord> queued = await _store.Jobs.ListByStateAsync(JobState.Queued, CancellationToken.None);
        IReadOnlyList<JobRecord> running = await _store.Jobs.ListByStateAsync(JobState.Running, CancellationToken.None);

        Assert.Equal([newer.Jobs[0].Id, older.Jobs[0].Id], queued.Select(j => j.Id));
        Assert.Equal(older.Jobs[1].Id, Assert.Single(running).Id);
    }

    [Fact]
    public async Task FinishAllRunningAsync_JobsLeftRunningByDeadProcess_MarkedInterrupted()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2"), Samples.Upgrade()], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[2].Id, JobResult.Success, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(10));

        // A new process, as after a crash
        ResultsStore restarted = _temp.CreateStore();
        IReadOnlyList<JobCompletion> closed = await restarted.Jobs.FinishAllRunningAsync(JobResult.Interrupted, "the service stopped while the job ran", CancellationToken.None);

        Assert.Equal([run.Jobs[0].Id, run.Jobs[1].Id], closed.Select(c => c.Job.Id));
        Assert.All(closed, c => Assert.Equal((JobResult.Interrupted, TimeSpan.FromMinutes(10)), (c.Job.Result, c.Job.Duration)));
        Assert.Null(closed[0].CompletedRun);
        Assert.Equal(JobResult.Interrupted, closed[1].CompletedRun?.Result);
        Assert.Empty(await restarted.Jobs.ListByStateAsync(JobState.Running, CancellationToken.None));
        Assert.Empty(await restarted.Jobs.FinishAllRunningAsync(JobResult.Interrupted, null, CancellationToken.None));
    }

    [Fact]
    public async Task FinishRunningLeftBehindAsync_OwnAndUnownedJobsEnd_OtherInstancesJobsAreLeftToThem()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2"), Samples.Upgrade(), Samples.Deploy("2025.1")], CancellationToken.None);
        string?[] owners = ["east", "west", "north", null];
        for (int i = 0; i < owners.Length; i++)
        {
            await _store.Jobs.MarkStartedAsync(run.Jobs[i].Id, null, null, owners[i], CancellationToken.None);
        }

        IReadOnlyList<JobCompletion> closed = await _store.Jobs.FinishRunningLeftBehindAsync(
            "east", new JobEnd(JobResult.Interrupted, "restarted") { MaxAttempts = 3 }, CancellationToken.None);

        Assert.Equal([run.Jobs[0].Id, run.Jobs[3].Id], closed.Select(c => c.Job.Id));
        Assert.All(closed, c => Assert.Equal(c.Job.Attempt + 1, c.Retry?.Attempt));
        Assert.Equal([run.Jobs[1].Id, run.Jobs[2].Id], (await _store.Jobs.ListByStateAsync(JobState.Running, CancellationToken.None)).Select(j => j.Id).Order());
    }

    [Fact]
    public async Task FinishRunningOfAsync_OnlyThatInstancesRunningJobs()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, "west", CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, "east", CancellationToken.None);

        IReadOnlyList<JobCompletion> closed = await _store.Jobs.FinishRunningOfAsync("west", new JobEnd(JobResult.Interrupted, "lost"), CancellationToken.None);

        Assert.Equal(run.Jobs[0].Id, Assert.Single(closed).Job.Id);
        Assert.Empty(await _store.Jobs.FinishRunningOfAsync("west", new JobEnd(JobResult.Interrupted, "lost"), CancellationToken.None));
        Assert.Equal(JobState.Running, (await _store.Jobs.GetAsync(run.Jobs[1].Id, CancellationToken.None))?.State);
    }

    [Fact]
    public async Task CreateAndFinish_TwoStoresWritingInParallel_LoseNothing()
    {
        const int RunsPerWriter = 200;
        ResultsStore[] writers = [_temp.CreateStore(), _temp.CreateStore()];
        await writers[0].Database.EnsureSchemaAsync(CancellationToken.None);

        await Task.WhenAll(writers.Select((store, writer) => Task.Run(async () =>
        {
            for (int i = 0; i < RunsPerWriter; i++)
            {
                RunDetail run = await store.Runs.CreateAsync(
                    Samples.Run(module: $"module{writer}"), [Samples.Deploy(scenario: $"scenario{i % 7:000}")], CancellationToken.None);
                await store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
                await store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
            }
        })));

        IReadOnlyList<RunSummary> runs = await _store.Runs.ListRecentAsync(null, null, 1000, CancellationToken.None);
        Assert.Equal(2 * RunsPerWriter, runs.Count);
        Assert.All(runs, r => Assert.Equal((1, 1, JobResult.Success), (r.JobCount, r.PassedCount, r.Run.Result)));
        Assert.Equal(2 * RunsPerWriter, runs.Select(r => r.Run.Id).Distinct().Count());
        Assert.Equal(14, (await _store.Cells.ListAllAsync(CancellationToken.None)).Count);
    }
}

/// <summary>The <see cref="JobStoreTests"/> contract on a SQLite file.</summary>
public sealed class JobStoreOnSqliteTests() : JobStoreTests(new TempDatabase());

/// <summary>The <see cref="JobStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class JobStoreOnPostgresTests() : JobStoreTests(new TempPostgresDatabase());
