using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Reporting;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Polling;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Reporting;

/// <summary>
/// A new patch set found on <c>refs/changes/*</c> runs on the branch Gerrit says its change targets; when Gerrit
/// does not answer, on the branch inferred from history, and the log says so.
/// </summary>
public sealed class GerritPatchSetLookupTests : IAsyncLifetime, IDisposable
{
    private const string Project = "openstack/puppet-keystone";

    private readonly ITestOutputHelper _output;
    private readonly CapturedLogs _logs = new();
    private readonly string _userVariable = "CIRUNNER_TEST_GERRIT_USER_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private readonly string _passwordVariable = "CIRUNNER_TEST_GERRIT_PASSWORD_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private GerritStandIn _gerrit = null!;
    private PollingHarness _harness = null!;
    private GerritClient _client = null!;
    private ILoggerFactory _loggers = null!;

    public GerritPatchSetLookupTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public async Task InitializeAsync()
    {
        _logs.Output = _output;
        _loggers = LoggerFactory.Create(builder => builder.AddProvider(_logs).SetMinimumLevel(LogLevel.Debug));
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
        _client = new GerritClient(_harness.Settings.Gerrit!);

        // A stable branch cut from master's head: a change on top of it has a parent both branches hold, which history
        // alone attributes to master.
        _harness.Remote.Commit("master");
        _harness.Remote.Branch("stable/2024.1", from: "master");
        await Poller().PollAsync(_harness.Keystone, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_userVariable, null);
        Environment.SetEnvironmentVariable(_passwordVariable, null);
        await _gerrit.DisposeAsync();
    }

    public void Dispose()
    {
        _client.Dispose();
        _harness.Dispose();
        _loggers.Dispose();
        _logs.Dispose();
    }

    [Fact]
    public async Task NewPatchSet_RunsOnTheBranchGerritNames_WithItsPatchSetNumber()
    {
        string patchSet = _harness.Remote.PatchSet("stable/2024.1", 5001, 1);
        _gerrit.AddChange(Project, "stable/2024.1", 5001, patchSet);

        ModulePollOutcome outcome = await Poller().PollAsync(_harness.Keystone, CancellationToken.None);

        RunRecord run = (await _harness.Store.Runs.GetAsync(Assert.Single(outcome.RunIds), CancellationToken.None))!;
        Assert.Equal((RunCause.PatchSet, "stable/2024.1", patchSet, "refs/changes/01/5001/1", (int?)1),
            (run.Cause, run.Branch, run.CommitSha, run.ChangeRef, run.PatchSet));
        Assert.Contains(_gerrit.Requests, r => r.Path == "/a/changes/openstack%2Fpuppet-keystone~5001" && r.Query.Contains("o=CURRENT_REVISION", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GerritDown_PatchSetStillRuns_OnTheBranchInferredFromHistory_AndTheLogSaysSo()
    {
        string patchSet = _harness.Remote.PatchSet("stable/2024.1", 5002, 1);
        _gerrit.AddChange(Project, "stable/2024.1", 5002, patchSet);
        _gerrit.Outage = true;

        ModulePollOutcome outcome = await Poller().PollAsync(_harness.Keystone, CancellationToken.None);

        RunRecord run = (await _harness.Store.Runs.GetAsync(Assert.Single(outcome.RunIds), CancellationToken.None))!;
        Assert.Equal(("master", patchSet), (run.Branch, run.CommitSha));
        Assert.Contains(_logs.Lines, l => l.Contains("could not ask Gerrit about refs/changes/02/5002/1", StringComparison.Ordinal) && l.Contains("503", StringComparison.Ordinal));
        Assert.Contains(_logs.Lines, l => l.Contains("testing it on master, inferred from history", StringComparison.Ordinal));
    }

    private ModulePoller Poller() => new(
        _harness.Mirrors,
        _harness.Store.PollState,
        _harness.Store.PollStatus,
        _harness.Launcher,
        TimeProvider.System,
        _loggers.CreateLogger<ModulePoller>(),
        TestTelemetry.Private(),
        patchSets: [new GerritPatchSetLookup(_harness.Settings, _client, _loggers.CreateLogger<GerritPatchSetLookup>())]);
}
