using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
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

    /// <summary>Moves the clock past any backoff the retry strategy can choose (a minute is far above its jittered seconds).</summary>
    private static bool Advance(FakeTimeProvider time)
    {
        time.Advance(TimeSpan.FromMinutes(1));
        return true;
    }
}
