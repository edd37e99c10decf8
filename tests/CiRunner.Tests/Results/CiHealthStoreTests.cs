using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

/// <summary>
/// The CI health figures from jobs and reports written through the real stores on a moving clock: which jobs a
/// window holds, the rates, the nearest-rank percentiles per day, reports with their reasons, and failing polls.
/// </summary>
public abstract class CiHealthStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected CiHealthStoreTests(IStoreUnderTest temp)
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
    public async Task ReadAsync_JobsOfTwoDaysInTheWindow_RatesAndPercentilesOverTheWindowAndPerDay()
    {
        // Given an error 15 days before the window's last day: outside a 14-day window
        await RunJobAsync("basic", waitSeconds: 1, runSeconds: 1, JobResult.Error);
        _temp.Time.Advance(TimeSpan.FromDays(14));
        DateOnly first = DateOnly.FromDateTime(_temp.Time.GetUtcNow().UtcDateTime);

        // And on one day four basic jobs (one an infrastructure error) and a lib-only timeout
        await RunJobAsync("basic", waitSeconds: 10, runSeconds: 100, JobResult.Success);
        await RunJobAsync("basic", waitSeconds: 20, runSeconds: 200, JobResult.Failure);
        await RunJobAsync("basic", waitSeconds: 30, runSeconds: 300, JobResult.Success);
        await RunJobAsync("basic", waitSeconds: 40, runSeconds: 400, JobResult.Error);
        await RunJobAsync("lib-only", waitSeconds: 50, runSeconds: 60, JobResult.Timeout);

        // And on the next day a long pass, and a job superseded before it ran
        _temp.Time.Advance(TimeSpan.FromDays(1));
        DateOnly second = first.AddDays(1);
        await RunJobAsync("basic", waitSeconds: 5, runSeconds: 1000, JobResult.Success);
        RunDetail superseded = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(scenario: "basic")], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(superseded.Jobs[0].Id, JobResult.Superseded, null, CancellationToken.None);

        // When the last 14 days are read
        CiHealth health = await _store.Health.ReadAsync(14, CancellationToken.None);

        // Then the window is 14 whole UTC days ending today
        Assert.Equal(14, health.Days.Count);
        Assert.Equal((second.AddDays(-13), second), (health.Days[0], health.Days[^1]));
        Assert.Equal(new DateTimeOffset(second.AddDays(-13).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), health.From);

        // And the counts leave out the old error and the superseded job
        Assert.Equal(new HealthJobCounts(Finished: 6, Passed: 3, Failed: 1, Timeout: 1, Error: 1), health.Jobs);

        // And pass rate = passed / (passed + failed + timeout), the error rate = errors / finished, per day too
        Assert.Equal(0.6, health.PassRate.Value);
        Assert.Equal((0.5, 1.0), (Day(health.PassRate, first), Day(health.PassRate, second)));
        Assert.Equal(1.0 / 6, health.InfrastructureErrorRate.Value);
        Assert.Equal((0.2, 0.0), (Day(health.InfrastructureErrorRate, first), Day(health.InfrastructureErrorRate, second)));
        Assert.All(health.PassRate.Daily.Where(p => p.Day != first && p.Day != second), p => Assert.Null(p.Value));

        // And queue waits [5 10 20 30 40 50] s: nearest-rank p50 is the 3rd, p95 the 6th; the first day's [10..50]
        Assert.Equal((20.0, 50.0), (health.QueueWaitP50Seconds.Value, health.QueueWaitP95Seconds.Value));
        Assert.Equal((30.0, 50.0), (Day(health.QueueWaitP50Seconds, first), Day(health.QueueWaitP95Seconds, first)));

        // And durations per scenario: basic ran [100 200 300 400 1000] s, [100..400] of them on the first day
        Assert.Equal(["basic", "lib-only"], health.DurationByScenario.Select(d => d.Scenario));
        ScenarioDurations basic = health.DurationByScenario[0];
        Assert.Equal((5, 300.0, 1000.0), (basic.Jobs, basic.P50Seconds.Value, basic.P95Seconds.Value));
        Assert.Equal((200.0, 400.0), (Day(basic.P50Seconds, first), Day(basic.P95Seconds, first)));
        Assert.Equal((1000.0, 1000.0), (Day(basic.P50Seconds, second), Day(basic.P95Seconds, second)));
        Assert.Equal(60.0, health.DurationByScenario[1].P95Seconds.Value);

        // And no job was flaky: a rate of 0, per day too
        Assert.Equal(0.0, health.FlakyRate.Value);
        Assert.Equal((0.0, 0.0), (Day(health.FlakyRate, first), Day(health.FlakyRate, second)));
        Assert.Null(health.FlakyRate.Note);
        Assert.False(health.Truncated);
    }

    [Fact]
    public async Task ReadAsync_ACellThatPassedOnItsReRun_CountsInTheFlakyRateAndNotInThePassRate()
    {
        // Given a pass, and a cell that failed and then passed on the same lockfile
        RunDetail passed = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(passed.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        RunDetail flaky = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        JobCompletion failed = (await _store.Jobs.MarkFinishedAsync(flaky.Jobs[0].Id, new JobEnd(JobResult.Failure, "failure: x") { FlakeReruns = 1 }, CancellationToken.None))!;
        await _store.Jobs.MarkFinishedAsync(failed.Retry!.Id, new JobEnd(JobResult.Success, null) { FlakeReruns = 1 }, CancellationToken.None);

        // When the health figures are read
        CiHealth health = await _store.Health.ReadAsync(14, CancellationToken.None);

        // Then each of the three verdicts (pass, failure, flaky re-run) is a third
        Assert.Equal((1.0 / 3, 1.0 / 3), (health.FlakyRate.Value, health.PassRate.Value));
    }

    [Fact]
    public async Task ReadAsync_SettledReports_CountedPerReporterAndState_HeldAndFailedListedWithTheirReasons()
    {
        // Given three finished runs, each reported to Gerrit and a webhook
        long[] runs = new long[3];
        for (int i = 0; i < runs.Length; i++)
        {
            RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
            await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
            runs[i] = run.Run.Id;
        }

        await _store.Reports.PlanAsync(_ => ["gerrit", "webhook:chat"], 50, CancellationToken.None);

        // When Gerrit holds the first (infrastructure error), refuses the second, and the third stays pending;
        // the webhook sends the first two after a retry, and finds nothing to say about the third
        await _store.Reports.SettleAsync(runs[0], "gerrit", ReportState.Held, "Job 1 ended with an infrastructure error: no review is posted.", null, CancellationToken.None);
        await _store.Reports.RetryLaterAsync(runs[0], "webhook:chat", _temp.Time.GetUtcNow(), "503 Service Unavailable", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        await _store.Reports.SettleAsync(runs[0], "webhook:chat", ReportState.Sent, "204 No Content", null, CancellationToken.None);
        await _store.Reports.SettleAsync(runs[1], "gerrit", ReportState.Failed, null, "Gerrit has no change 42.", CancellationToken.None);
        await _store.Reports.SettleAsync(runs[1], "webhook:chat", ReportState.Sent, "204 No Content", null, CancellationToken.None);
        await _store.Reports.SettleAsync(runs[2], "webhook:chat", ReportState.Skipped, "nothing to report", null, CancellationToken.None);
        CiHealth health = await _store.Health.ReadAsync(14, CancellationToken.None);

        // Then settled reports are counted once each, by reporter and state; pending and skipped ones are not
        Assert.Equal(
            [("gerrit", ReportState.Held, 1.0), ("gerrit", ReportState.Failed, 1.0), ("webhook:chat", ReportState.Sent, 2.0)],
            health.Reports.Select(r => (r.Reporter, r.State, r.Count.Value!.Value)));
        Assert.Equal(2.0, Day(health.Reports[2].Count, health.Days[^1]));
        Assert.Equal(0.0, health.Reports[2].Count.Daily[0].Value);

        // And the held and failed ones are listed newest first with why
        Assert.Equal(
            [(runs[1], "gerrit", ReportState.Failed, "Gerrit has no change 42."), (runs[0], "gerrit", ReportState.Held, "Job 1 ended with an infrastructure error: no review is posted.")],
            health.ReportProblems.Select(p => (p.RunId, p.Reporter, p.State, p.Reason)));
    }

    [Fact]
    public async Task ReadAsync_ModulesWhoseLatestPollFailed_CountedNowWithTheirErrors()
    {
        await _store.PollStatus.RecordFailureAsync("nova", "fetch failed: connection refused", CancellationToken.None);
        await _store.PollStatus.RecordFailureAsync("nova", "fetch failed: connection refused", CancellationToken.None);
        await _store.PollStatus.RecordFailureAsync("keystone", "fetch failed: timeout", CancellationToken.None);
        await _store.PollStatus.RecordSuccessAsync("keystone", CancellationToken.None);

        CiHealth health = await _store.Health.ReadAsync(14, CancellationToken.None);

        Assert.Equal(1.0, health.PollsFailing.Value);
        PollFailure nova = Assert.Single(health.FailingPolls);
        Assert.Equal(("nova", 2, "fetch failed: connection refused"), (nova.Module, nova.ConsecutiveFailures, nova.LastError));

        // The store keeps no poll history: today's point is the only one, and the note says so
        Assert.Equal([1.0], health.PollsFailing.Daily.Where(p => p.Value is not null).Select(p => p.Value!.Value));
        Assert.Equal(health.Days[^1], health.PollsFailing.Daily.Single(p => p.Value is not null).Day);
        Assert.StartsWith("now only", health.PollsFailing.Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NothingRan_FiguresAreNullNotZero()
    {
        CiHealth health = await _store.Health.ReadAsync(14, CancellationToken.None);

        Assert.Equal(new HealthJobCounts(0, 0, 0, 0, 0), health.Jobs);
        Assert.Null(health.PassRate.Value);
        Assert.Null(health.InfrastructureErrorRate.Value);
        Assert.Null(health.QueueWaitP95Seconds.Value);
        Assert.Empty(health.DurationByScenario);
        Assert.Empty(health.Reports);
        Assert.Equal(0.0, health.PollsFailing.Value);
    }

    private static double? Day(HealthFigure figure, DateOnly day) => figure.Daily.Single(p => p.Day == day).Value;

    /// <summary>A run of one job that waits in the queue, runs and ends, on the test's clock.</summary>
    private async Task RunJobAsync(string scenario, int waitSeconds, int runSeconds, JobResult result)
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(scenario: scenario)], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(waitSeconds));
        Assert.True(await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None));
        _temp.Time.Advance(TimeSpan.FromSeconds(runSeconds));
        await _store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, result, null, CancellationToken.None);
    }
}

/// <summary>The <see cref="CiHealthStoreTests"/> contract on a SQLite file.</summary>
public sealed class CiHealthStoreOnSqliteTests() : CiHealthStoreTests(new TempDatabase());

/// <summary>The <see cref="CiHealthStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class CiHealthStoreOnPostgresTests() : CiHealthStoreTests(new TempPostgresDatabase());

/// <summary>The nearest-rank percentile the health figures use.</summary>
public sealed class HealthPercentileTests
{
    [Theory]
    [InlineData(new double[] { 7 }, 0.50, 7)]
    [InlineData(new double[] { 7 }, 0.95, 7)]
    [InlineData(new double[] { 4, 1, 3, 2 }, 0.50, 2)]
    [InlineData(new double[] { 4, 1, 3, 2 }, 0.95, 4)]
    [InlineData(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, 0.95, 19)]
    public void Percentile_NearestRank_IsAValueOfTheSet(double[] values, double fraction, double expected) =>
        Assert.Equal(expected, CiHealthStore.Percentile(values, fraction));

    [Fact]
    public void Percentile_NoValues_IsNull() => Assert.Null(CiHealthStore.Percentile([], 0.95));
}
