using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Polling;

/// <summary>Polls of a real git repository into a real mirror and database, without the host.</summary>
public sealed class ModulePollerTests : IDisposable
{
    /// <summary>ModulePoller's LogFetchRetry: "Fetching {Module} from {Url} failed; retry {Retry} in {Delay}".</summary>
    private const int FetchRetryEvent = 6003;

    private readonly PollingHarness _harness;
    private readonly ITestOutputHelper _output;

    public ModulePollerTests(ITestOutputHelper output)
    {
        _output = output;
        _harness = new PollingHarness(output);
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Poll_FirstPollThenACommit_OneRunForTheCommitOnly()
    {
        _harness.Remote.Commit("master");
        ModulePollOutcome first = await _harness.PollAsync();
        string pushed = _harness.Remote.Commit("master");

        ModulePollOutcome second = await _harness.PollAsync();
        ModulePollOutcome third = await _harness.PollAsync();

        Assert.True(first.Succeeded, first.Error);
        Assert.Empty(first.RunIds);
        RunRecord run = Assert.Single(await _harness.RunsAsync());
        Assert.Equal((RunCause.Commit, "keystone", "master", pushed), (run.Cause, run.Module, run.Branch, run.CommitSha));
        Assert.Equal([run.Id], second.RunIds);
        Assert.Empty(third.Changes);
        Assert.True(File.Exists(Path.Combine(_harness.Settings.DataPaths.MirrorsDirectory, "keystone.git", "HEAD")));
    }

    [Fact]
    public async Task Poll_NothingNew_NeitherFetchesNorWritesTheDatabase_YetTheStatusShowsThePoll()
    {
        // Given a module polled twice (its first poll, then a run for a new commit: a write the watcher sees)
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        await using SqliteConnection watcher = await WatchDatabaseAsync();
        long beforeTheRun = await DataVersionAsync(watcher);
        _harness.Remote.Commit("master");
        Assert.True((await _harness.PollAsync()).Fetched);
        long afterTheRun = await DataVersionAsync(watcher);
        Assert.NotEqual(beforeTheRun, afterTheRun);
        File.Delete(FetchHead);
        ModulePollStatus before = (await _harness.Store.PollStatus.GetAsync("keystone", CancellationToken.None))!;

        // When it is polled again with nothing new on the remote
        ModulePollOutcome outcome = await _harness.PollAsync();

        // Then the poll succeeded without a fetch (a fetch writes FETCH_HEAD) and no connection committed a write
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal((false, 0), (outcome.Fetched, outcome.Changes.Count));
        Assert.False(File.Exists(FetchHead), "the poll fetched");
        Assert.Equal(afterTheRun, await DataVersionAsync(watcher));
        // And this process's status shows the poll at once; another process sees it once the quiet polls are flushed
        ModulePollStatus after = (await _harness.Store.PollStatus.GetAsync("keystone", CancellationToken.None))!;
        Assert.True(after.LastPollAt > before.LastPollAt, $"the status does not show the poll: last poll {after.LastPollAt:O}, before it {before.LastPollAt:O}");
        Assert.Equal(after.LastPollAt, after.LastSuccessAt);
        ResultsStore elsewhere = ResultsStore.Open(_harness.Settings.DataPaths.DatabaseFile);
        Assert.Equal(before.LastPollAt, (await elsewhere.PollStatus.GetAsync("keystone", CancellationToken.None))!.LastPollAt);
        Assert.Equal(1, await _harness.Store.PollStatus.FlushQuietPollsAsync(CancellationToken.None));
        Assert.Equal(after, await elsewhere.PollStatus.GetAsync("keystone", CancellationToken.None));
    }

    [Fact]
    public async Task Poll_NothingNewAfterAFailedPoll_WritesTheRecoveryAtOnce()
    {
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        await _harness.Store.PollStatus.RecordFailureAsync("keystone", "connection refused", CancellationToken.None);

        ModulePollOutcome outcome = await _harness.PollAsync();

        // Read as another process would: the failure count is cleared in the database, not only in this process's view
        ModulePollStatus? stored = await ResultsStore.Open(_harness.Settings.DataPaths.DatabaseFile).PollStatus.GetAsync("keystone", CancellationToken.None);
        Assert.Equal((false, 0), (outcome.Fetched, outcome.Changes.Count));
        Assert.Equal((0, 1), (stored!.ConsecutiveFailures, stored.TotalFailures));
        Assert.True(stored.LastSuccessAt > stored.LastErrorAt, "the success after the failure was not written");
    }

    [Fact]
    public async Task Poll_NewCommitOnATrackedBranch_FetchesAndReportsIt()
    {
        _harness.Remote.Commit("master");
        string before = _harness.Remote.Commit("stable/2024.1");
        await _harness.PollAsync();
        File.Delete(FetchHead);
        string pushed = _harness.Remote.Commit("stable/2024.1");

        ModulePollOutcome outcome = await _harness.PollAsync();

        Assert.True(outcome.Fetched);
        Assert.True(File.Exists(FetchHead));
        Assert.Equal([new HeadChange(HeadChangeKind.NewCommit, "stable/2024.1", before, pushed)], outcome.Changes);
        Assert.Equal(pushed, Assert.Single(await _harness.RunsAsync()).CommitSha);
        Assert.Equal(pushed, await _harness.Mirrors.FindBranchHeadAsync(_harness.Keystone, "stable/2024.1", CancellationToken.None));
    }

    [Fact]
    public async Task Poll_CommitOnAnUntrackedBranch_NoFetch()
    {
        _harness.Remote.Commit("master");
        _harness.Remote.Branch("feature/x", from: "master");
        await _harness.PollAsync();
        File.Delete(FetchHead);
        _harness.Remote.Commit("feature/x");
        _harness.Remote.Commit("feature/y");

        ModulePollOutcome outcome = await _harness.PollAsync();

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal((false, 0), (outcome.Fetched, outcome.Changes.Count));
        Assert.False(File.Exists(FetchHead), "the poll fetched");
        Assert.Null(await _harness.Mirrors.FindBranchHeadAsync(_harness.Keystone, "feature/y", CancellationToken.None));
        Assert.Empty(await _harness.RunsAsync());
    }

    [Fact]
    public async Task Poll_MirrorAlreadyHoldsAnUnstoredHead_RunsItWithoutFetching()
    {
        // Given a mirror that fetched a new commit whose head was never stored (as when a poll's write failed)
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string pushed = _harness.Remote.Commit("master");
        await _harness.Mirrors.FetchAsync(_harness.Keystone, CancellationToken.None);
        File.Delete(FetchHead);

        // When the next poll finds the remote as the mirror has it
        ModulePollOutcome outcome = await _harness.PollAsync();

        // Then it does not fetch, and still starts the run for that head
        Assert.False(outcome.Fetched);
        Assert.False(File.Exists(FetchHead), "the poll fetched");
        Assert.Equal(pushed, Assert.Single(await _harness.RunsAsync()).CommitSha);
    }

    [Fact]
    public async Task Poll_MirrorFetchedByAnotherProcess_StillRunsTheNewHead()
    {
        // Given a polled module, and a commit that another process (a `cirunner run` beside the service) fetched into
        // the mirror before the service's next poll
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string pushed = _harness.Remote.Commit("master");
        using (var otherProcess = new ModuleMirrors(_harness.Settings.DataPaths))
        {
            await otherProcess.FetchAsync(_harness.Keystone, CancellationToken.None);
        }

        // When the service polls
        ModulePollOutcome outcome = await _harness.PollAsync();

        // Then it starts the run for the new head, as if it had fetched it itself
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(pushed, Assert.Single(await _harness.RunsAsync()).CommitSha);
    }

    [Fact]
    public async Task Poll_MirrorRemovedFromUnderTheService_IsRebuiltAtTheNextPoll()
    {
        // Given a polled module whose mirror someone removed (to reclaim the space, or to mend it)
        string head = _harness.Remote.Commit("master");
        await _harness.PollAsync();
        Directory.Delete(Path.Combine(_harness.Settings.DataPaths.MirrorsDirectory, "keystone.git"), recursive: true);

        // When the next poll finds nothing new on the remote
        ModulePollOutcome outcome = await _harness.PollAsync();

        // Then the mirror holds the branch again, for the jobs that read it, and nothing runs
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(head, await _harness.Mirrors.FindBranchHeadAsync(_harness.Keystone, "master", CancellationToken.None));
        Assert.Empty(await _harness.RunsAsync());
    }

    [Fact]
    public async Task Poll_CommitPushedWhileStopped_RunsOnceAfterRestart()
    {
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string pushed = _harness.Remote.Commit("master");

        _harness.Restart();
        await _harness.PollAsync();
        _harness.Restart();
        await _harness.PollAsync();

        RunRecord run = Assert.Single(await _harness.RunsAsync());
        Assert.Equal(pushed, run.CommitSha);
    }

    [Fact]
    public async Task Poll_NewStableBranch_TriggersForThatBranch()
    {
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string head = _harness.Remote.Branch("stable/2024.1", from: "master");

        ModulePollOutcome outcome = await _harness.PollAsync();

        Assert.Equal([new HeadChange(HeadChangeKind.NewBranch, "stable/2024.1", null, head)], outcome.Changes);
        RunRecord run = Assert.Single(await _harness.RunsAsync());
        Assert.Equal(("stable/2024.1", head), (run.Branch, run.CommitSha));
    }

    [Theory]
    [InlineData("stable/$(touch${IFS}pwned)")]
    [InlineData("stable/x;touch${IFS}pwned`id`")]
    [InlineData("stable/--upload-pack=touch${IFS}pwned")]
    [InlineData("stable/%2e%2e%2f%2e%2e%2fetc")]
    public async Task Poll_BranchNameWithShellOrPathMetacharacters_IsStoredVerbatimAndNothingRunsIt(string branch)
    {
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string head = _harness.Remote.Branch(branch, from: "master");

        ModulePollOutcome outcome = await _harness.PollAsync();

        Assert.True(outcome.Succeeded, outcome.Error);
        RunRecord run = Assert.Single(await _harness.RunsAsync());
        Assert.Equal((branch, head), (run.Branch, run.CommitSha));
        BranchHeadRecord? stored = await _harness.Store.PollState.GetAsync("keystone", branch, CancellationToken.None);
        Assert.Equal(head, stored?.CommitSha);
        // Git is driven in process (LibGit2Sharp), never through a shell: nothing the name spells was executed.
        Assert.Empty(Directory.EnumerateFileSystemEntries(_harness.Settings.DataPaths.Root, "pwned*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "pwned")));
    }

    [Fact]
    public async Task Poll_ForcePush_TriggersAndIsReportedAsOne()
    {
        _harness.Remote.Commit("master");
        string before = _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string after = _harness.Remote.ForcePush("master");

        ModulePollOutcome outcome = await _harness.PollAsync();

        Assert.Equal([new HeadChange(HeadChangeKind.ForcePush, "master", before, after)], outcome.Changes);
        Assert.Equal(after, Assert.Single(await _harness.RunsAsync()).CommitSha);
    }

    [Fact]
    public async Task Poll_DeletedBranch_IsRecordedAndThePollSucceeds()
    {
        _harness.Remote.Commit("master");
        _harness.Remote.Branch("stable/2023.2", from: "master");
        await _harness.PollAsync();
        _harness.Remote.DeleteBranch("stable/2023.2");

        ModulePollOutcome outcome = await _harness.PollAsync();

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(HeadChangeKind.Deleted, Assert.Single(outcome.Changes).Kind);
        BranchHeadRecord? head = await _harness.Store.PollState.GetAsync("keystone", "stable/2023.2", CancellationToken.None);
        Assert.NotNull(head?.DeletedAt);
        Assert.Empty(await _harness.RunsAsync());
        ModulePollStatus? status = await _harness.Store.PollStatus.GetAsync("keystone", CancellationToken.None);
        Assert.Equal((0, (string?)null), (status!.TotalFailures, status.LastError));
    }

    [Fact]
    public async Task Poll_UnreachableRemote_StoresARedactedErrorAndCountsIt()
    {
        var unreachable = new TrackedModule("openstacklib", "https://ci:s3cret@127.0.0.1:1/puppet-openstacklib", [BranchPattern.Parse("master")], null);

        ModulePollOutcome outcome = await _harness.Poller.PollAsync(unreachable, CancellationToken.None);
        ModulePollOutcome keystone = await _harness.PollAsync();

        Assert.False(outcome.Succeeded);
        ModulePollStatus? status = await _harness.Store.PollStatus.GetAsync("openstacklib", CancellationToken.None);
        Assert.NotNull(status);
        Assert.Equal((1, 1, (DateTimeOffset?)null), (status.ConsecutiveFailures, status.TotalFailures, status.LastSuccessAt));
        Assert.NotNull(status.LastErrorAt);
        Assert.DoesNotContain("s3cret", status.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", outcome.Error, StringComparison.Ordinal);
        Assert.True(keystone.Succeeded, keystone.Error);
    }

    [Fact]
    public async Task Poll_UnreachableRemote_RetriesTheFetchTwiceWaitingOnTheServicesClock_ThenFails()
    {
        // Given a poller whose clock moves only when the test moves it
        var time = new FakeTimeProvider(TempDatabase.Start);
        using var logs = new CapturedLogs(_output);
        using var loggers = new LoggerFactory([logs]);
        var poller = new ModulePoller(_harness.Mirrors, _harness.Store.PollState, _harness.Store.PollStatus, _harness.Launcher, time, loggers.CreateLogger<ModulePoller>(), TestTelemetry.Private(), patchSets: []);
        var unreachable = new TrackedModule("openstacklib", "https://127.0.0.1:1/puppet-openstacklib", [BranchPattern.Parse("master")], null);
        int Retries() => logs.Entries.Count(l => l.EventId.Id == FetchRetryEvent);

        // When it polls a remote that refuses connections
        Task<ModulePollOutcome> polling = poller.PollAsync(unreachable, CancellationToken.None);

        // Then after the first failed fetch it waits for its backoff on that clock: the retry comes once the clock moves on
        await logs.WaitForAsync("the first fetch retry", l => l.EventId.Id == FetchRetryEvent, TimeSpan.FromSeconds(30));
        Assert.False(polling.IsCompleted, "the poll ended without waiting for its retries");
        // (the wall clock passes more than the longest first backoff, about 1.5 s with jitter: a poller on the wall clock retries in it)
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.True(Retries() == 1 && !polling.IsCompleted, "the retry came on the wall clock, not the service's clock:\n" + logs.Text);
        await Eventually.TrueAsync("the second fetch retry", () => Task.FromResult(Advance(time) && Retries() == 2), TimeSpan.FromSeconds(30), () => logs.Text);
        await Eventually.TrueAsync("the poll to end", () => Task.FromResult(Advance(time) && polling.IsCompleted), TimeSpan.FromSeconds(30), () => logs.Text);
        ModulePollOutcome outcome = await polling;
        Assert.False(outcome.Succeeded);
        Assert.Equal(2, Retries());
        Assert.Contains(logs.Entries, l => l.EventId.Id == FetchRetryEvent && l.Message.Contains("retry 2 in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_NewerHead_SupersedesQueuedJobsOfEarlierRuns_RunningJobsGoOn()
    {
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        _harness.Remote.Commit("master");
        long runningRun = (await _harness.PollAsync()).RunIds[0];
        // The run has a deploy and an upgrade cell; start every one of its jobs.
        foreach (QueuedJob _ in _harness.Queue.Snapshot().Where(j => j.RunId == runningRun).ToList())
        {
            QueuedJob taken = await _harness.Queue.DequeueAsync(CancellationToken.None);
            Assert.Equal(runningRun, taken.RunId);
            Assert.True(await _harness.Store.Jobs.MarkStartedAsync(taken.JobId, null, null, CancellationToken.None));
        }

        _harness.Remote.Commit("master");
        long queuedRun = (await _harness.PollAsync()).RunIds[0];
        _harness.Remote.Commit("master");

        long newestRun = (await _harness.PollAsync()).RunIds[0];

        RunDetail running = (await _harness.Store.Runs.GetDetailAsync(runningRun, CancellationToken.None))!;
        RunDetail superseded = (await _harness.Store.Runs.GetDetailAsync(queuedRun, CancellationToken.None))!;
        Assert.All(running.Jobs, j => Assert.Equal(JobState.Running, j.State));
        Assert.NotEmpty(superseded.Jobs);
        Assert.All(superseded.Jobs, j => Assert.Equal((JobResult?)JobResult.Superseded, j.Result));
        Assert.Equal(JobResult.Superseded, superseded.Run.Result);
        Assert.All(_harness.Queue.Snapshot(), j => Assert.Equal(newestRun, j.RunId));
        Assert.NotEmpty(_harness.Queue.Snapshot());
    }

    [Fact]
    public async Task Poll_PatchSetRefs_WhenEnabled_StartAPatchSetRunOnTheTargetBranch()
    {
        using var harness = new PollingHarness(new Xunit.Sdk.TestOutputHelper(), f => f.Set("Modules:0:ChangeRefs", true));
        harness.Remote.Commit("master");
        harness.Remote.Commit("stable/2024.1");
        await harness.PollAsync();
        string patchSet = harness.Remote.PatchSet("stable/2024.1", 12345, 1);

        ModulePollOutcome outcome = await harness.PollAsync();

        Assert.True(outcome.Succeeded, outcome.Error);
        RunRecord run = Assert.Single(await harness.RunsAsync());
        Assert.Equal((RunCause.PatchSet, "stable/2024.1", patchSet, "refs/changes/45/12345/1"), (run.Cause, run.Branch, run.CommitSha, run.ChangeRef));
    }

    [Fact]
    public async Task Poll_NewPatchSet_SupersedesTheQueuedJobsOfTheChangesEarlierPatchSetOnly()
    {
        using var harness = new PollingHarness(new Xunit.Sdk.TestOutputHelper(), f => f.Set("Modules:0:ChangeRefs", true));
        harness.Remote.Commit("master");
        await harness.PollAsync();
        harness.Remote.PatchSet("master", 12345, 1);
        harness.Remote.PatchSet("master", 777, 1);
        IReadOnlyList<long> firstRuns = (await harness.PollAsync()).RunIds;
        harness.Remote.PatchSet("master", 12345, 2);

        long newest = Assert.Single((await harness.PollAsync()).RunIds);

        IReadOnlyList<RunRecord> runs = await harness.RunsAsync();
        RunRecord first = runs.Single(r => r.ChangeRef == "refs/changes/45/12345/1");
        RunRecord other = runs.Single(r => r.ChangeRef == "refs/changes/77/777/1");
        Assert.Equal(2, firstRuns.Count);
        Assert.Equal(JobResult.Superseded, first.Result);
        Assert.Null(other.Result);
        Assert.DoesNotContain(harness.Queue.Snapshot(), j => j.RunId == first.Id);
        Assert.Contains(harness.Queue.Snapshot(), j => j.RunId == newest);
    }

    /// <summary>The mirror's FETCH_HEAD, which every fetch writes: gone after a poll, that poll did not fetch.</summary>
    private string FetchHead => Path.Combine(_harness.Mirrors.PathOf(_harness.Keystone), "FETCH_HEAD");

    /// <summary>A connection of its own (no pool) on the results database, for <see cref="DataVersionAsync"/>.</summary>
    private async Task<SqliteConnection> WatchDatabaseAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _harness.Settings.DataPaths.DatabaseFile, Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>SQLite's <c>data_version</c>: it changes, for this connection, whenever another connection commits a write.</summary>
    private static async Task<long> DataVersionAsync(SqliteConnection connection)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA data_version";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Moves the clock past any backoff the retry strategy can choose (a minute is far above its jittered seconds).</summary>
    private static bool Advance(FakeTimeProvider time)
    {
        time.Advance(TimeSpan.FromMinutes(1));
        return true;
    }
}
