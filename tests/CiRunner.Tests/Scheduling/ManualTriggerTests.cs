using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Polling;

namespace CiRunner.Tests.Scheduling;

/// <summary>Manual runs against a real repository: the mirror is fetched first, then the branch or commit resolved.</summary>
public sealed class ManualTriggerTests : IDisposable
{
    private readonly PollingHarness _harness;
    private readonly ManualTrigger _trigger;

    public ManualTriggerTests(ITestOutputHelper output)
    {
        _harness = new PollingHarness(output);
        _trigger = new ManualTrigger(_harness.Settings, _harness.Mirrors, _harness.Launcher);
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Start_Branch_TestsItsCurrentHeadWithoutAPriorPoll()
    {
        _harness.Remote.Commit("master");
        string head = _harness.Remote.Commit("stable/2024.1");

        ManualRunOutcome outcome = await _trigger.StartAsync(new ManualRunRequest("keystone", "stable/2024.1", null, "alice"), CancellationToken.None);

        RunRecord run = outcome.Run!.Run;
        Assert.Equal((RunCause.Manual, "stable/2024.1", head, "alice"), (run.Cause, run.Branch, run.CommitSha, run.RequestedBy));
    }

    [Fact]
    public async Task Start_AbbreviatedCommitOnlyOnAStableBranch_RunsOnThatBranch()
    {
        _harness.Remote.Commit("master");
        _harness.Remote.Branch("stable/2024.1", from: "master");
        string commit = _harness.Remote.Commit("stable/2024.1");
        _harness.Remote.Commit("master");

        ManualRunOutcome outcome = await _trigger.StartAsync(new ManualRunRequest("keystone", null, commit[..10], null), CancellationToken.None);

        Assert.Equal(("stable/2024.1", commit), (outcome.Run!.Run.Branch, outcome.Run.Run.CommitSha));
    }

    [Fact]
    public async Task Start_UnknownCommit_IsRefusedWithAClearMessage()
    {
        _harness.Remote.Commit("master");

        ManualRunOutcome outcome = await _trigger.StartAsync(new ManualRunRequest("keystone", null, "0123456789abcdef0123456789abcdef01234567", null), CancellationToken.None);

        Assert.Null(outcome.Run);
        Assert.Equal(ManualRunRefusal.NotFound, outcome.Refusal);
        Assert.Contains("Commit 0123456789abcdef0123456789abcdef01234567 is not in keystone's repository", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("even after fetching", outcome.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nova", "master", null, ManualRunRefusal.Invalid, "Module 'nova' is not configured")]
    [InlineData("keystone", null, null, ManualRunRefusal.Invalid, "Give a branch, a commit, or both")]
    [InlineData("keystone", "stable/1999.1", null, ManualRunRefusal.NotFound, "Branch stable/1999.1 does not exist")]
    [InlineData("keystone", "stable/../x", null, ManualRunRefusal.Invalid, "'stable/../x' is not a branch name")]
    [InlineData("keystone", null, "master~1", ManualRunRefusal.Invalid, "'master~1' is not a commit id")]
    public async Task Start_BadRequests_AreRefused(string module, string? branch, string? commit, ManualRunRefusal refusal, string message)
    {
        _harness.Remote.Commit("master");

        ManualRunOutcome outcome = await _trigger.StartAsync(new ManualRunRequest(module, branch, commit, null), CancellationToken.None);

        Assert.Equal(refusal, outcome.Refusal);
        Assert.Contains(message, outcome.Message, StringComparison.Ordinal);
        Assert.Empty(await _harness.RunsAsync());
    }
}
