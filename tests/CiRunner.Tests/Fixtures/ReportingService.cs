using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>A cell of a run a test finishes through the stores: its scenario on release 2024.2 (master's), and how it ended.</summary>
public sealed record CellOutcome(string Scenario, JobResult Result, string? Summary = null, bool FailedApply = false, string? Log = null, int Attempt = 1)
{
    public string Key => $"2024.2/{Scenario}";
}

/// <summary>
/// The real service (<c>ServiceHost.Build</c>, as <c>cirunner serve</c> builds it) on a loopback port, configured to
/// report to a <see cref="GerritStandIn"/> as "Acme CI" (voting, scenario lib-only non-voting, recheck every 5 s),
/// to write JUnit, and to a webhook when one is given; module keystone (Gerrit project openstack/puppet-keystone)
/// fetches patch-set refs from a <see cref="GitRemote"/>. Tests finish runs through the stores, as the executor would,
/// and wait for their reports; <see cref="RestartAsync"/> starts a new host on the same files, like a new process.
/// </summary>
public sealed class ReportingService : IAsyncDisposable
{
    public const string Project = "openstack/puppet-keystone";
    public const string CiName = "Acme CI";
    public const string ContactUrl = "https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI";

    private WebApplication? _app;

    private ReportingService(GerritStandIn gerrit)
    {
        Gerrit = gerrit;
        string suffix = Guid.NewGuid().ToString("N").ToUpperInvariant();
        UsernameVariable = "CIRUNNER_TEST_GERRIT_USER_" + suffix;
        PasswordVariable = "CIRUNNER_TEST_GERRIT_PASSWORD_" + suffix;
        SecretVariable = "CIRUNNER_TEST_WEBHOOK_SECRET_" + suffix;
        TokenVariable = "CIRUNNER_TEST_TOKEN_" + suffix;
    }

    public GerritStandIn Gerrit { get; }

    public ConfigFolder Folder { get; } = new();

    public GitRemote Remote { get; } = new();

    public CapturedLogs Logs { get; } = new();

    public string UsernameVariable { get; }

    public string PasswordVariable { get; }

    public string SecretVariable { get; }

    public string TokenVariable { get; }

    public int Port { get; } = FreePort.Next();

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The service is not running.");

    public CiRunnerSettings Settings => Services.GetRequiredService<CiRunnerSettings>();

    /// <summary>A configured service, not started yet; <paramref name="configure"/> adjusts the configuration first.</summary>
    public static ReportingService Create(GerritStandIn gerrit, WebhookReceiver? webhook = null, Action<ReportingService>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(gerrit);
        var service = new ReportingService(gerrit);
        TestConfiguration configuration = service.Folder.Configuration
            .Set("Modules:1", null)
            .Set("Modules:0:Url", service.Remote.Path)
            .Set("Modules:0:ChangeRefs", true);
        for (int i = 0; i < 4; i++)
        {
            configuration.Set($"Releases:{i}:Image", Polling.PollingHarness.AbsentImage);
        }

        configuration
            .Set("Service:InstanceId", DockerEngineFixture.NewInstanceId())
            .Set("Schedule:PollJitter", "0s")
            .Set("Http:Listen", $"http://127.0.0.1:{service.Port}")
            .Set("Http:ApiTokenVariable", service.TokenVariable)
            .Set("Http:PublicUrl", "https://ci.example.org/")
            .Set("Gerrit:Url", gerrit.Url)
            .Set("Gerrit:UsernameVariable", service.UsernameVariable)
            .Set("Gerrit:PasswordVariable", service.PasswordVariable)
            .Set("Gerrit:CiName", CiName)
            .Set("Gerrit:ContactUrl", ContactUrl)
            .Set("Gerrit:Voting", true)
            .Set("Gerrit:NonVotingScenarios:0", "lib-only")
            .Set("Gerrit:RecheckInterval", "5s")
            .Set("Reporting:RetryDelay", "1s")
            .Set("Reporting:MaxRetryDelay", "2s");
        if (webhook is not null)
        {
            configuration
                .Set("Reporting:Webhooks:0:Name", "chat")
                .Set("Reporting:Webhooks:0:Url", webhook.Url)
                .Set("Reporting:Webhooks:0:SecretVariable", service.SecretVariable);
            Environment.SetEnvironmentVariable(service.SecretVariable, webhook.Secret);
        }

        // Debug, so that a credential logged at any useful level would be caught by the tests that look for one.
        configuration
            .Set("Logging:LogLevel:Default", "Debug")
            .Set("Logging:LogLevel:Quartz", "Warning")
            .Set("Logging:LogLevel:Microsoft", "Warning");
        Environment.SetEnvironmentVariable(service.UsernameVariable, gerrit.Username);
        Environment.SetEnvironmentVariable(service.PasswordVariable, gerrit.Password);
        configure?.Invoke(service);
        return service;
    }

    public async Task StartAsync()
    {
        ConfigurationLoadResult loaded = Folder.Load();
        if (!loaded.Succeeded)
        {
            throw new InvalidOperationException(string.Join('\n', loaded.Errors));
        }

        _app = ServiceHost.Build(loaded.Settings, ConfigurationLoader.BuildConfiguration(Folder.ConfigFile), services => services.AddSingleton<ILoggerProvider>(Logs));
        await _app.StartAsync();
        await Services.GetRequiredService<JobDispatcher>().Recovered.WaitAsync(TimeSpan.FromMinutes(1));
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>
    /// Stores a run of keystone master at <paramref name="commit"/> and finishes its jobs as <paramref name="cells"/>
    /// say, each with a log file (and a failed apply step when asked), the way the dispatcher would.
    /// </summary>
    public async Task<RunRecord> FinishRunAsync(RunCause cause, string commit, string? changeRef, params CellOutcome[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        RunStore runs = Services.GetRequiredService<RunStore>();
        JobStore jobs = Services.GetRequiredService<JobStore>();
        JobProgressStore progress = Services.GetRequiredService<JobProgressStore>();
        DataPaths paths = Services.GetRequiredService<DataPaths>();
        int? patchSet = ChangeRef.TryParse(changeRef, out ChangeRef parsed) ? parsed.PatchSet : null;
        RunDetail run = await runs.CreateAsync(
            new NewRun(cause, "keystone", "master", commit, changeRef, patchSet, "test"),
            cells.Select(c => new NewJob(c.Key, JobKind.Deploy, "2024.2", null, c.Scenario, JobPriority.PatchSet, c.Attempt)).ToList(),
            CancellationToken.None);
        foreach ((JobRecord job, CellOutcome cell) in run.Jobs.Zip(cells))
        {
            string log = paths.JobLogFile(run.Run.Id, job.Id);
            Directory.CreateDirectory(Path.GetDirectoryName(log)!);
            await File.WriteAllTextAsync(log, cell.Log ?? $"== step 1 apply (phase deploy)\nNotice: Applied catalog for {cell.Scenario}\n");
            await jobs.MarkStartedAsync(job.Id, null, log, CancellationToken.None);
            if (cell.FailedApply)
            {
                DateTimeOffset now = TimeProvider.System.GetUtcNow();
                await progress.AddStepAsync(job.Id, new NewStep(1, "deploy", "apply", StepKind.Apply, now.AddSeconds(-3), now, 4, JobResult.Failure), CancellationToken.None);
            }

            await jobs.MarkFinishedAsync(job.Id, cell.Result, cell.Summary, CancellationToken.None);
        }

        return (await runs.GetAsync(run.Run.Id, CancellationToken.None))!;
    }

    /// <summary>A patch-set run of change <paramref name="change"/>, patch set 1, at <paramref name="commit"/> (known to the stand-in).</summary>
    public Task<RunRecord> FinishPatchSetRunAsync(int change, string commit, params CellOutcome[] cells)
    {
        Gerrit.AddChange(Project, "master", change, commit);
        return FinishRunAsync(RunCause.PatchSet, commit, new ChangeRef(change, 1).ToString(), cells);
    }

    /// <summary>Waits (at most two minutes) until the run's report to <paramref name="reporter"/> satisfies <paramref name="until"/> (default: settled).</summary>
    public async Task<RunReportRecord> WaitForReportAsync(long runId, string reporter, Func<RunReportRecord, bool>? until = null)
    {
        ReportStore reports = Services.GetRequiredService<ReportStore>();
        until ??= r => r.State != ReportState.Pending;
        RunReportRecord? last = await Eventually.LastValueAsync(
            async () => (await reports.ListForRunAsync(runId, CancellationToken.None)).FirstOrDefault(r => r.Reporter == reporter),
            r => r is not null && until(r),
            TimeSpan.FromMinutes(2));
        return last is not null && until(last)
            ? last
            : throw new TimeoutException($"Run {runId}'s {reporter} report did not get there within two minutes; last seen: {last?.ToString() ?? "no report"}.");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (string variable in new[] { UsernameVariable, PasswordVariable, SecretVariable, TokenVariable })
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Remote.Dispose();
        Folder.Dispose();
    }
}
