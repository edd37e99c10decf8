using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Reporting;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Polling;

namespace CiRunner.Tests.Reporting;

/// <summary>
/// The recheck poll on its own: a Gerrit stand-in with changes and comments, module keystone's patch sets in a real
/// git remote, a real results database, and the real run launcher. Each poll is called by the test.
/// </summary>
public sealed class RecheckPollerTests : IAsyncLifetime, IDisposable
{
    private const string Project = "openstack/puppet-keystone";

    private readonly ITestOutputHelper _output;
    private readonly List<GerritClient> _clients = [];
    private readonly string _userVariable = "CIRUNNER_TEST_GERRIT_USER_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private readonly string _passwordVariable = "CIRUNNER_TEST_GERRIT_PASSWORD_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private GerritStandIn _gerrit = null!;
    private PollingHarness _harness = null!;

    public RecheckPollerTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public async Task InitializeAsync()
    {
        _gerrit = await GerritStandIn.StartAsync();
        Environment.SetEnvironmentVariable(_userVariable, _gerrit.Username);
        Environment.SetEnvironmentVariable(_passwordVariable, _gerrit.Password);
        _harness = new PollingHarness(_output, folder =>
        {
            folder.Set("Modules:0:ChangeRefs", true);
            folder.Set("Gerrit", new JsonObject
            {
                ["Url"] = _gerrit.Url.ToString(),
                [nameof(GerritOptions.UsernameVariable)] = _userVariable,
                [nameof(GerritOptions.PasswordVariable)] = _passwordVariable,
                ["CiName"] = "Acme CI",
                ["ContactUrl"] = "https://wiki.example.org/Acme_CI",
            });
        });
        _harness.Remote.Commit("master");
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_userVariable, null);
        Environment.SetEnvironmentVariable(_passwordVariable, null);
        await _gerrit.DisposeAsync();
    }

    public void Dispose()
    {
        foreach (GerritClient client in _clients)
        {
            client.Dispose();
        }

        _harness.Dispose();
    }

    [Fact]
    public async Task FirstPoll_OnlyRecordsWhereItStands_ARecheckMadeBeforeIsNotReplayed()
    {
        string patchSet = _harness.Remote.PatchSet("master", 4001, 1);
        _gerrit.AddChange(Project, "master", 4001, patchSet);
        _gerrit.Comment(4001, 1000100, "Jane Doe", "recheck");
        RecheckPoller poller = NewPoller();

        RecheckPollOutcome first = await poller.PollAsync(CancellationToken.None);
        RecheckPollOutcome second = await poller.PollAsync(CancellationToken.None);

        Assert.Empty(first.RunIds);
        Assert.Empty(first.Errors);
        Assert.Empty(second.RunIds);
        Assert.NotNull(await _harness.Store.Rechecks.GetProjectAsync(Project, CancellationToken.None));
        Assert.Empty(await _harness.RunsAsync());
    }

    [Fact]
    public async Task Recheck_RunsTheLatestPatchSet_OnTheChangesTargetBranch_Once()
    {
        RecheckPoller poller = NewPoller();
        await poller.PollAsync(CancellationToken.None);
        _harness.Remote.Branch("stable/2024.1", from: "master");
        string first = _harness.Remote.PatchSet("stable/2024.1", 4002, 1);
        string latest = _harness.Remote.PatchSet("stable/2024.1", 4002, 2);
        _gerrit.AddChange(Project, "stable/2024.1", 4002, first);
        _gerrit.AddPatchSet(4002, latest);
        _gerrit.Comment(4002, (1000100, "Jane Doe", "recheck", null), (1000101, "John Roe", "recheck acme ci", null));

        RecheckPollOutcome outcome = await poller.PollAsync(CancellationToken.None);
        RecheckPollOutcome again = await poller.PollAsync(CancellationToken.None);

        long runId = Assert.Single(outcome.RunIds);
        Assert.Empty(again.RunIds);
        RunDetail run = (await _harness.Store.Runs.GetDetailAsync(runId, CancellationToken.None))!;
        Assert.Equal((RunCause.Recheck, "stable/2024.1", latest, "refs/changes/02/4002/2", (int?)2),
            (run.Run.Cause, run.Run.Branch, run.Run.CommitSha, run.Run.ChangeRef, run.Run.PatchSet));
        Assert.Equal("recheck by John Roe on change 4002", run.Run.RequestedBy);
        Assert.Contains("2024.1/basic", run.Jobs.Select(j => j.CellKey));
        Assert.DoesNotContain(run.Jobs, j => j.CellKey.StartsWith("2024.2/", StringComparison.Ordinal));
        Assert.Single(await _harness.RunsAsync());
    }

    [Fact]
    public async Task CommentsThatAreNotARequestForThisCi_StartNothing()
    {
        RecheckPoller poller = NewPoller();
        await poller.PollAsync(CancellationToken.None);
        string patchSet = _harness.Remote.PatchSet("master", 4003, 1);
        _gerrit.AddChange(Project, "master", 4003, patchSet);
        _gerrit.Comment(4003,
            (1000100, "Jane Doe", "recheck other-ci", null),
            (1000101, "John Roe", "I think a recheck will not help", null),
            (GerritStandIn.CiAccountId, GerritStandIn.CiAccountName, "recheck", null),
            (1000102, "Zuul", "recheck", "autogenerated:zuul:check"));

        RecheckPollOutcome outcome = await poller.PollAsync(CancellationToken.None);

        Assert.Empty(outcome.RunIds);
        Assert.Empty(await _harness.RunsAsync());
    }

    [Fact]
    public async Task AfterARestart_ARecheckAlreadyRunIsNotRepeated_AndOneMadeMeanwhileIsNotMissed()
    {
        await NewPoller().PollAsync(CancellationToken.None);
        string patchSet = _harness.Remote.PatchSet("master", 4004, 1);
        _gerrit.AddChange(Project, "master", 4004, patchSet);
        _gerrit.Comment(4004, 1000100, "Jane Doe", "recheck");
        RecheckPollOutcome before = await NewPoller().PollAsync(CancellationToken.None);

        _harness.Restart();
        RecheckPollOutcome afterRestart = await NewPoller().PollAsync(CancellationToken.None);
        _gerrit.Comment(4004, 1000101, "John Roe", "recheck");
        _harness.Restart();
        RecheckPollOutcome meanwhile = await NewPoller().PollAsync(CancellationToken.None);

        Assert.Single(before.RunIds);
        Assert.Empty(afterRestart.RunIds);
        Assert.Single(meanwhile.RunIds);
        Assert.Equal(2, (await _harness.RunsAsync()).Count(r => r.Cause == RunCause.Recheck));
    }

    [Fact]
    public async Task GerritDown_TheErrorIsStoredAndReturned_ARecheckMadeMeanwhileRunsWhenItIsBack()
    {
        RecheckPoller poller = NewPoller();
        await poller.PollAsync(CancellationToken.None);
        string patchSet = _harness.Remote.PatchSet("master", 4005, 1);
        _gerrit.AddChange(Project, "master", 4005, patchSet);
        _gerrit.Comment(4005, 1000100, "Jane Doe", "recheck");
        _gerrit.Outage = true;

        RecheckPollOutcome down = await poller.PollAsync(CancellationToken.None);
        RecheckProjectState? state = await _harness.Store.Rechecks.GetProjectAsync(Project, CancellationToken.None);
        _gerrit.Outage = false;
        RecheckPollOutcome back = await poller.PollAsync(CancellationToken.None);

        string error = Assert.Single(down.Errors);
        Assert.Contains("503 Service Unavailable", error, StringComparison.Ordinal);
        Assert.Contains("503 Service Unavailable", state!.LastError, StringComparison.Ordinal);
        Assert.Empty(down.RunIds);
        Assert.Single(back.RunIds);
        Assert.Null((await _harness.Store.Rechecks.GetProjectAsync(Project, CancellationToken.None))!.LastError);
    }

    [Fact]
    public async Task LaterPolls_AskOnlyForChangesUpdatedSinceTheNewestSeen()
    {
        string patchSet = _harness.Remote.PatchSet("master", 4006, 1);
        _gerrit.AddChange(Project, "master", 4006, patchSet);
        RecheckPoller poller = NewPoller();

        await poller.PollAsync(CancellationToken.None);
        await poller.PollAsync(CancellationToken.None);

        List<string> queries = _gerrit.Requests.Where(r => r.Path == "/a/changes/").Select(r => Uri.UnescapeDataString(r.Query)).ToList();
        Assert.Equal(2, queries.Count);
        Assert.Contains("q=project:openstack/puppet-keystone status:open&", queries[0], StringComparison.Ordinal);
        Assert.Contains("o=CURRENT_REVISION", queries[0], StringComparison.Ordinal);
        Assert.Contains("o=MESSAGES", queries[0], StringComparison.Ordinal);
        Assert.Matches("q=project:openstack/puppet-keystone status:open after:\"\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\"&", queries[1]);
    }

    private RecheckPoller NewPoller()
    {
        var client = new GerritClient(_harness.Settings.Gerrit!);
        _clients.Add(client);
        return new RecheckPoller(_harness.Settings, client, _harness.Store.Rechecks, _harness.Mirrors, _harness.Launcher, TimeProvider.System, new TestOutputLogger<RecheckPoller>(_output));
    }
}
