using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

/// <summary>
/// The store's side of bisect: a cell that turns from passed to red asks for one in the transaction that finished the
/// red job; a bisect's next step is queued (or its verdict stored) in the transaction that finished the last step, so a
/// crash between steps loses nothing; its steps never become the branch's verdict.
/// </summary>
public abstract class BisectStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected BisectStoreTests(IStoreUnderTest temp)
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
    public async Task MarkFinished_CellTurnsFromPassedToFailed_AsksForABisectOfTheRedJob()
    {
        long green = await FinishedJobAsync(Samples.Run(), JobResult.Success);

        long red = await FinishedJobAsync(Samples.Run(commitSha: Sha(20)), JobResult.Failure, expectRequest: true);
        await FinishedJobAsync(Samples.Run(commitSha: Sha(21)), JobResult.Failure);
        await FinishedJobAsync(Samples.Run(cause: RunCause.PatchSet, changeRef: "refs/changes/45/12345/1", patchSet: 1), JobResult.Failure);

        Assert.Equal([(red, green)], await _store.Bisects.ListRequestsAsync(10, CancellationToken.None));
        await _store.Bisects.DeleteRequestAsync(red, CancellationToken.None);
        Assert.Empty(await _store.Bisects.ListRequestsAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task Steps_CommitThirteenBad_EachNextStepQueuedWithItsPinUntilTheCulpritIsStored()
    {
        long green = await FinishedJobAsync(Samples.Run(), JobResult.Success);
        long red = await FinishedJobAsync(Samples.Run(commitSha: Sha(20)), JobResult.Failure, expectRequest: true);
        IReadOnlyList<BisectCommit> history = Enumerable.Range(0, 21).Select(i => new BisectCommit(i, Sha(i), "Dev <dev@example.org>", $"Change {i}")).ToList();

        (BisectRecord bisect, RunDetail run) = await _store.Bisects.CreateAsync(
            new NewBisect("keystone", "stable/2024.1", "2024.1/scenario001", "keystone", history, CheckGood: false, MaxJobs: 16, Retries: 0)
            {
                GoodJobId = green,
                BadJobId = red,
                RequestedBy = $"bisect of job {red}",
                RunCommit = Sha(20),
            },
            Samples.Deploy(),
            CancellationToken.None);

        Assert.Equal((RunCause.Bisect, JobPriority.Bisect, (long?)red), (run.Run.Cause, run.Jobs[0].Priority, run.Jobs[0].ReplayOf));
        var ran = new List<int>();
        JobRecord? step = run.Jobs[0];
        BisectRecord? ended = null;
        while (step is not null)
        {
            BisectPin pin = (await _store.Jobs.GetBisectPinAsync(step.Id, CancellationToken.None))!;
            int position = int.Parse(pin.Sha[^2..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(("keystone", Sha(20)), (pin.Module, pin.ReplacedSha));
            ran.Add(position);
            JobCompletion completion = (await _store.Jobs.MarkFinishedAsync(step.Id, new JobEnd(position >= 13 ? JobResult.Failure : JobResult.Success, null), CancellationToken.None))!;
            Assert.False(completion.BisectRequested);
            step = completion.BisectStep;
            ended = completion.BisectEnded;
            Assert.Equal(step is null, completion.CompletedRun is not null);
        }

        Assert.Equal([20, 10, 15, 12, 13], ran);
        Assert.Equal((BisectVerdict.Culprit, Sha(13), "Change 13", "Dev <dev@example.org>"), (ended!.Verdict, ended.CulpritSha, ended.CulpritSubject, ended.CulpritAuthor));
        BisectDetail detail = (await _store.Bisects.ForRunAsync(run.Run.Id, CancellationToken.None))!;
        Assert.Equal(bisect.Id, detail.Bisect.Id);
        Assert.Equal(ran, detail.Steps.Select(s => s.Position));
        Assert.Equal([bisect.Id], (await _store.Bisects.OfRedJobsAsync([red], CancellationToken.None)).Select(b => b.Id));

        // The steps' results are not the branch's: the cell still shows the red job.
        Assert.Equal(red, Assert.Single(await _store.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None)).JobId);
    }

    [Fact]
    public async Task Steps_StepInterruptedAndRetried_TheRetryTakesItsPlace()
    {
        long red = await FinishedJobAsync(Samples.Run(commitSha: Sha(2)), JobResult.Failure);
        IReadOnlyList<BisectCommit> history = Enumerable.Range(0, 3).Select(i => new BisectCommit(i, Sha(i), "Dev <dev@example.org>", $"Change {i}")).ToList();
        (_, RunDetail run) = await _store.Bisects.CreateAsync(
            new NewBisect("keystone", "stable/2024.1", "2024.1/scenario001", "keystone", history, CheckGood: false, MaxJobs: 16, Retries: 0) { BadJobId = red, RunCommit = Sha(2) },
            Samples.Deploy(),
            CancellationToken.None);

        JobCompletion interrupted = (await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, new JobEnd(JobResult.Interrupted, "crash") { MaxAttempts = 2 }, CancellationToken.None))!;
        JobCompletion reproduced = (await _store.Jobs.MarkFinishedAsync(interrupted.Retry!.Id, new JobEnd(JobResult.Failure, null), CancellationToken.None))!;

        Assert.Null(interrupted.BisectStep);
        Assert.Equal(1, reproduced.BisectStep!.Attempt);
        BisectDetail detail = (await _store.Bisects.ForRunAsync(run.Run.Id, CancellationToken.None))!;
        Assert.Equal([(interrupted.Retry.Id, 2), (reproduced.BisectStep.Id, 1)], detail.Steps.Select(s => (s.JobId, s.Position)));
    }

    private async Task<long> FinishedJobAsync(NewRun run, JobResult result, bool expectRequest = false)
    {
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        RunDetail created = await _store.Runs.CreateAsync(run, [Samples.Deploy()], CancellationToken.None);
        JobCompletion completion = (await _store.Jobs.MarkFinishedAsync(created.Jobs[0].Id, new JobEnd(result, null), CancellationToken.None))!;
        Assert.Equal(expectRequest, completion.BisectRequested);
        return created.Jobs[0].Id;
    }

    private static string Sha(int commit) => $"{commit:D2}".PadLeft(40, 'a');
}

/// <summary>The <see cref="BisectStoreTests"/> contract on a SQLite file.</summary>
public sealed class BisectStoreOnSqliteTests() : BisectStoreTests(new TempDatabase());

/// <summary>The <see cref="BisectStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class BisectStoreOnPostgresTests() : BisectStoreTests(new TempPostgresDatabase());
