using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

/// <summary>The reporters' outbox: written with the run's finish, planned per reporter, attempts counted, settled or retried.</summary>
public abstract class ReportStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected ReportStoreTests(IStoreUnderTest temp)
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
    public async Task FinishingTheLastJob_RequestsTheRunsReport_EarlierJobsDoNot()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        IReadOnlyList<long> afterFirst = await _store.Reports.PlanAsync(_ => ["junit"], 50, CancellationToken.None);

        await _store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Failure, null, CancellationToken.None);
        IReadOnlyList<long> afterLast = await _store.Reports.PlanAsync(_ => ["junit", "gerrit"], 50, CancellationToken.None);
        IReadOnlyList<long> again = await _store.Reports.PlanAsync(_ => ["junit"], 50, CancellationToken.None);

        Assert.Empty(afterFirst);
        Assert.Equal([run.Run.Id], afterLast);
        Assert.Empty(again);
        IReadOnlyList<RunReportRecord> reports = await _store.Reports.ListForRunAsync(run.Run.Id, CancellationToken.None);
        Assert.Equal(["gerrit", "junit"], reports.Select(r => r.Reporter));
        Assert.All(reports, r => Assert.Equal((ReportState.Pending, 0, (DateTimeOffset?)TempDatabase.Start), (r.State, r.Attempts, r.NextAttemptAt)));
    }

    [Fact]
    public async Task RunsInterruptedByACrash_AreRequestedByTheRecoveryThatEndsThem()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);

        await _store.Jobs.FinishAllRunningAsync(JobResult.Interrupted, "The service stopped.", CancellationToken.None);

        Assert.Equal([run.Run.Id], await _store.Reports.PlanAsync(_ => ["gerrit"], 50, CancellationToken.None));
    }

    [Fact]
    public async Task Attempts_AreCounted_RetryWaits_SettledReportsAreNoLongerDue()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        await _store.Reports.PlanAsync(_ => ["gerrit", "junit"], 50, CancellationToken.None);

        int first = await _store.Reports.StartAttemptAsync(run.Run.Id, "gerrit", CancellationToken.None);
        await _store.Reports.RetryLaterAsync(run.Run.Id, "gerrit", TempDatabase.Start.AddMinutes(1), "503 Service Unavailable", CancellationToken.None);
        await _store.Reports.SettleAsync(run.Run.Id, "junit", ReportState.Sent, "junit.xml", null, CancellationToken.None);
        IReadOnlyList<RunReportRecord> dueNow = await _store.Reports.ListDueAsync("gerrit", 50, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        IReadOnlyList<RunReportRecord> dueLater = await _store.Reports.ListDueAsync("gerrit", 50, CancellationToken.None);
        int second = await _store.Reports.StartAttemptAsync(run.Run.Id, "gerrit", CancellationToken.None);
        await _store.Reports.SettleAsync(run.Run.Id, "gerrit", ReportState.Sent, "posted", null, CancellationToken.None);

        Assert.Equal((1, 2), (first, second));
        Assert.Empty(dueNow);
        Assert.Single(dueLater);
        Assert.Empty(await _store.Reports.ListDueAsync("junit", 50, CancellationToken.None));
        RunReportRecord gerrit = (await _store.Reports.ListForRunAsync(run.Run.Id, CancellationToken.None)).Single(r => r.Reporter == "gerrit");
        Assert.Equal((ReportState.Sent, 2, "posted", "503 Service Unavailable", (DateTimeOffset?)null), (gerrit.State, gerrit.Attempts, gerrit.Detail, gerrit.LastError, gerrit.NextAttemptAt));
        Assert.Empty(await _store.Reports.ListDueAsync("gerrit", 50, CancellationToken.None));
    }

    [Fact]
    public async Task PendingReportsOfReportersNoLongerConfigured_AreFound()
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        await _store.Reports.PlanAsync(_ => ["junit", "webhook:old"], 50, CancellationToken.None);

        IReadOnlyList<RunReportRecord> orphans = await _store.Reports.ListPendingOfOthersAsync(["junit"], CancellationToken.None);

        Assert.Equal("webhook:old", Assert.Single(orphans).Reporter);
    }
}

/// <summary>The <see cref="ReportStoreTests"/> contract on a SQLite file.</summary>
public sealed class ReportStoreOnSqliteTests() : ReportStoreTests(new TempDatabase());

/// <summary>The <see cref="ReportStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class ReportStoreOnPostgresTests() : ReportStoreTests(new TempPostgresDatabase());
