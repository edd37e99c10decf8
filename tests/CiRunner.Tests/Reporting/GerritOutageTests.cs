using System.Text.Json;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Reporting;

/// <summary>
/// Reports that cannot be delivered at once: Gerrit down (the report waits in the outbox, also across a restart),
/// a wrong password (a clear error, the report waits), and the comment-only mode. Each test has a service of its own.
/// </summary>
[Trait("Category", "Service")]
public sealed class GerritOutageTests : IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private GerritStandIn _gerrit = null!;

    public GerritOutageTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public async Task InitializeAsync() => _gerrit = await GerritStandIn.StartAsync();

    public async Task DisposeAsync() => await _gerrit.DisposeAsync();

    [Fact]
    public async Task GerritDownWhenTheRunFinishes_ReportWaitsInTheOutbox_AndIsPostedOnceAfterARestart()
    {
        await using ReportingService service = ReportingService.Create(_gerrit);
        service.Logs.Output = _output;
        _gerrit.Outage = true;
        await service.StartAsync();
        RunRecord run = await service.FinishPatchSetRunAsync(3001, Sha(), new CellOutcome("basic", JobResult.Success));

        RunReportRecord waiting = await service.WaitForReportAsync(run.Id, "gerrit", r => r.Attempts >= 2);
        await service.StopAsync();
        _gerrit.Outage = false;
        await service.StartAsync();
        RunReportRecord sent = await service.WaitForReportAsync(run.Id, "gerrit");

        Assert.Equal(ReportState.Pending, waiting.State);
        Assert.Contains("503 Service Unavailable", waiting.LastError, StringComparison.Ordinal);
        Assert.NotNull(waiting.NextAttemptAt);
        Assert.Equal(ReportState.Sent, sent.State);
        Assert.True(sent.Attempts > waiting.Attempts);
        var (text, _, _, votes) = Assert.Single(_gerrit.CiMessages(3001));
        Assert.Equal(1, votes["Verified"]);
        Assert.Contains($"https://ci.example.org/runs/{run.Id}", text, StringComparison.Ordinal);
        Assert.Contains(service.Logs.Lines, l => l.StartsWith("[Warning]", StringComparison.Ordinal) && l.Contains($"Run {run.Id}: the gerrit report was not delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WrongHttpPassword_Gerrit401_ClearErrorNamingTheVariables_ReportWaits_PasswordNowhere()
    {
        const string Wrong = "not-the-http-password-4b1d";
        await using ReportingService service = ReportingService.Create(_gerrit);
        service.Logs.Output = _output;
        Environment.SetEnvironmentVariable(service.PasswordVariable, Wrong);
        await service.StartAsync();
        RunRecord run = await service.FinishPatchSetRunAsync(3002, Sha(), new CellOutcome("basic", JobResult.Success));

        RunReportRecord report = await service.WaitForReportAsync(run.Id, "gerrit", r => r.Attempts >= 1 && r.LastError is not null);
        using var client = new HttpClient { BaseAddress = service.BaseUrl };
        string api = await client.GetStringAsync(new Uri($"api/runs/{run.Id}", UriKind.Relative));

        Assert.Equal(ReportState.Pending, report.State);
        Assert.Contains("401 Unauthorized", report.LastError, StringComparison.Ordinal);
        Assert.Contains(service.PasswordVariable, report.LastError, StringComparison.Ordinal);
        Assert.Contains(service.UsernameVariable, report.LastError, StringComparison.Ordinal);
        Assert.Contains("401 Unauthorized", api, StringComparison.Ordinal);
        Assert.Contains(_gerrit.Requests, r => r.Status == 401 && !r.Authenticated);
        Assert.Empty(_gerrit.CiMessages(3002));
        Assert.DoesNotContain(Wrong, service.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, api, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VotingOff_CommentOnly_NoLabelsInTheReview()
    {
        await using ReportingService service = ReportingService.Create(_gerrit, configure: s => s.Folder.Set("Gerrit:Voting", false));
        service.Logs.Output = _output;
        await service.StartAsync();
        RunRecord run = await service.FinishPatchSetRunAsync(3003, Sha(), new CellOutcome("basic", JobResult.Failure, "failure", FailedApply: true));

        RunReportRecord report = await service.WaitForReportAsync(run.Id, "gerrit");

        Assert.Equal(ReportState.Sent, report.State);
        Assert.Contains("no vote", report.Detail, StringComparison.Ordinal);
        GerritRequest post = Assert.Single(_gerrit.ReviewRequests);
        using JsonDocument body = JsonDocument.Parse(post.Body);
        Assert.False(body.RootElement.TryGetProperty("labels", out _));
        var (text, _, _, votes) = Assert.Single(_gerrit.CiMessages(3003));
        Assert.Empty(votes);
        Assert.StartsWith("Patch Set 1:\n\nAcme CI: Build failed.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportForAChangeGerritDoesNotHave_FailsForGood_AndSaysWhichProject()
    {
        await using ReportingService service = ReportingService.Create(_gerrit);
        service.Logs.Output = _output;
        await service.StartAsync();
        RunRecord run = await service.FinishRunAsync(RunCause.PatchSet, Sha(), "refs/changes/99/3099/1", new CellOutcome("basic", JobResult.Success));

        RunReportRecord report = await service.WaitForReportAsync(run.Id, "gerrit");

        Assert.Equal(ReportState.Failed, report.State);
        Assert.Contains("no change 3099 in project openstack/puppet-keystone", report.LastError, StringComparison.Ordinal);
        Assert.Contains(service.Logs.Lines, l => l.StartsWith("[Error]", StringComparison.Ordinal) && l.Contains($"Run {run.Id}: the gerrit report FAILED", StringComparison.Ordinal));
        Assert.Equal(ReportState.Sent, (await service.WaitForReportAsync(run.Id, "junit")).State);
    }

    private static string Sha() => Guid.NewGuid().ToString("N") + "00d2d2d2";
}
