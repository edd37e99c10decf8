using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

/// <summary>Tempest tests stored with their job (migration 0010) on a temp SQLite file: written as the step ends, read back, pruned.</summary>
public abstract class TempestTestStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected TempestTestStoreTests(IStoreUnderTest temp)
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
    public async Task StepFinishedAsync_TempestStep_StoresEveryTestAndReadsThemBackFailedFirst()
    {
        // Given a running upgrade job whose upgrade-phase tempest step ended with a pass, a failure and a skip
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        using var folder = new TempDirectory();
        JobSpec job = TestJobs.Job("i", "image", folder) with { RunId = run.Run.Id, JobId = jobId };
        StepOutcome outcome = TempestOutcome(phase: "upgrade", index: 7, Passed("tempest.api.b.B.test_ok[id-2,smoke]"), Failed("tempest.api.a.A.test_broken[id-1,smoke]"), Skipped());

        // When the recorder hears of it
        await new JobRecorder(_store.JobProgress).StepFinishedAsync(job, outcome, [], CancellationToken.None);

        // Then the job's detail has every test, failed first, with the step's phase and ordinal and the traceback as it was
        JobDetail detail = (await _store.Jobs.GetDetailAsync(jobId, CancellationToken.None))!;
        StepRecord step = Assert.Single(detail.Steps);
        Assert.Equal((StepKind.Tempest, JobResult.Failure), (step.Kind, step.Result));
        Assert.Equal(
            [
                ("tempest.api.a.A.test_broken[id-1,smoke]", TempestTestStatus.Failed),
                ("setUpClass (tempest.api.identity.v2.test_x.X)", TempestTestStatus.Skipped),
                ("tempest.api.b.B.test_ok[id-2,smoke]", TempestTestStatus.Passed),
            ],
            detail.TempestTests.Select(t => (t.TestId, t.Status)));
        TempestTestRecord failed = detail.TempestTests[0];
        Assert.Equal((jobId, step.Id, "upgrade", 7), (failed.JobId, failed.StepId, failed.Phase, failed.StepOrdinal));
        Assert.Equal(("tempest.api.a.A", TimeSpan.FromMilliseconds(1250)), (failed.ClassName, failed.Duration));
        Assert.Equal(Traceback, failed.Traceback);
        Assert.Equal("tempest.lib.exceptions.BadRequest: Bad request", failed.FailureLine);
        Assert.Equal("tempest.api.a.A.test_broken", failed.ShortName);
        Assert.Null(failed.SkipReason);
        Assert.Equal("Identity api v2 is not enabled", detail.TempestTests[1].SkipReason);
    }

    [Fact]
    public async Task AddTempestTestsAsync_StepOfAnotherJob_Throws()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        StepRecord step = await _store.JobProgress.AddStepAsync(run.Jobs[0].Id, Samples.Step(1, TempDatabase.Start, StepKind.Tempest), CancellationToken.None);

        await Assert.ThrowsAsync<ArgumentException>(
            () => _store.JobProgress.AddTempestTestsAsync(run.Jobs[1].Id, step.Id, [Passed("tempest.x.Y.test_z")], CancellationToken.None));
        Assert.Empty((await _store.Jobs.GetDetailAsync(run.Jobs[1].Id, CancellationToken.None))!.TempestTests);
    }

    [Fact]
    public async Task PruneAsync_OldJob_TakesItsTempestTestsWithItsOtherDetails()
    {
        // Given a finished job with stored Tempest tests, 100 days old, and a second run of its cell that is now the cell's result
        long old = await FinishedTempestJobAsync("aaaa");
        long latest = await FinishedTempestJobAsync("bbbb");
        _temp.Time.Advance(TimeSpan.FromDays(100));

        // When retention prunes what is older than 90 days
        PruneResult pruned = await _store.Retention.PruneAsync(_temp.Time.GetUtcNow().AddDays(-90), CancellationToken.None);

        // Then the old job's tests went with its steps; the cell's latest job keeps them
        Assert.Equal(1, pruned.Jobs);
        Assert.Empty((await _store.Jobs.GetDetailAsync(old, CancellationToken.None))!.TempestTests);
        Assert.Equal(3, (await _store.Jobs.GetDetailAsync(latest, CancellationToken.None))!.TempestTests.Count);
    }

    private const string Traceback = """
        pythonlogging:'': {{{
        2026-12-03 19:30:09,360 1497 INFO     [tempest.lib.common.rest_client] Request: 400 PATCH http://127.0.0.1:5000/v3/credentials/8db6 0.161s
        }}}

        Traceback (most recent call last):
          File "/usr/lib/python3/dist-packages/tempest/lib/common/rest_client.py", line 877, in _error_checker
            raise exceptions.BadRequest(resp_body, resp=resp)
        tempest.lib.exceptions.BadRequest: Bad request
        Details: {'code': 400, 'message': 'Invalid input for field/attribute credential.'}
        """;

    private async Task<long> FinishedTempestJobAsync(string commit)
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(commitSha: commit), [Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await _store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        StepRecord step = await _store.JobProgress.AddStepAsync(jobId, Samples.Step(3, _temp.Time.GetUtcNow(), StepKind.Tempest, exitCode: 1, JobResult.Failure), CancellationToken.None);
        await _store.JobProgress.AddTempestTestsAsync(jobId, step.Id, [Passed("tempest.b.B.test_ok"), Failed("tempest.a.A.test_broken"), Skipped()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(jobId, JobResult.Failure, "failure: step 'tempest'", CancellationToken.None);
        return jobId;
    }

    private static StepOutcome TempestOutcome(string phase, int index, params TempestTestResult[] tests) =>
        new(phase, index, "tempest", StepKind.Tempest, JobResult.Failure, 1, TempDatabase.Start, TimeSpan.FromSeconds(95), "1 of 3 Tempest tests failed")
        {
            TempestTests = tests,
        };

    private static TempestTestResult Passed(string id) => new(id, id[..id.LastIndexOf('.')], TempestTestStatus.Passed, TimeSpan.FromSeconds(0.5), null, null);

    private static TempestTestResult Failed(string id) => new(id, id[..id.LastIndexOf('.')], TempestTestStatus.Failed, TimeSpan.FromSeconds(1.25), Traceback, null);

    private static TempestTestResult Skipped() =>
        new("setUpClass (tempest.api.identity.v2.test_x.X)", "tempest.api.identity.v2.test_x.X", TempestTestStatus.Skipped, TimeSpan.Zero, null, "Identity api v2 is not enabled");
}

/// <summary>The <see cref="TempestTestStoreTests"/> contract on a SQLite file.</summary>
public sealed class TempestTestStoreOnSqliteTests() : TempestTestStoreTests(new TempDatabase());

/// <summary>The <see cref="TempestTestStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class TempestTestStoreOnPostgresTests() : TempestTestStoreTests(new TempPostgresDatabase());
