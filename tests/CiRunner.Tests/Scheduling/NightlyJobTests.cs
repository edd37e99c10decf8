using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Polling;

namespace CiRunner.Tests.Scheduling;

/// <summary>The nightly job's choice of branches, on poll state from a real repository.</summary>
public sealed class NightlyJobTests
{
    private readonly ITestOutputHelper _output;

    public NightlyJobTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Run_Default_StartsEveryTrackedStableBranchOnly()
    {
        using var harness = new PollingHarness(_output);
        harness.Remote.Commit("master");
        string stable = harness.Remote.Branch("stable/2024.1", from: "master");
        harness.Remote.Branch("unmaintained/2023.1", from: "master");
        await harness.PollAsync();

        IReadOnlyList<long> runIds = await CreateJob(harness).RunAsync(CancellationToken.None);

        RunRecord run = (await harness.Store.Runs.GetAsync(Assert.Single(runIds), CancellationToken.None))!;
        Assert.Equal((RunCause.Nightly, "keystone", "stable/2024.1", stable), (run.Cause, run.Module, run.Branch, run.CommitSha));
    }

    [Fact]
    public async Task Run_SkipUnchanged_StartsOnlyBranchesThatMovedSinceTheLastNightly()
    {
        using var harness = new PollingHarness(_output, f => f.Set("Schedule:NightlySkipUnchanged", true));
        harness.Remote.Commit("master");
        harness.Remote.Branch("stable/2024.1", from: "master");
        harness.Remote.Branch("stable/2025.1", from: "master");
        await harness.PollAsync();
        NightlyJob job = CreateJob(harness);
        IReadOnlyList<long> first = await job.RunAsync(CancellationToken.None);
        string moved = harness.Remote.Commit("stable/2025.1");
        await harness.PollAsync();

        IReadOnlyList<long> second = await job.RunAsync(CancellationToken.None);

        Assert.Equal(2, first.Count);
        RunRecord run = (await harness.Store.Runs.GetAsync(Assert.Single(second), CancellationToken.None))!;
        Assert.Equal(("stable/2025.1", moved, RunCause.Nightly), (run.Branch, run.CommitSha, run.Cause));
    }

    private NightlyJob CreateJob(PollingHarness harness) =>
        new(harness.Settings, harness.Store.PollState, harness.Store.Runs, harness.Launcher, new TestOutputLogger<NightlyJob>(_output));
}
