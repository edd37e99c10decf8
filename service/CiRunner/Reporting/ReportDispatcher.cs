using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Telemetry;
using Microsoft.Extensions.Options;

namespace CiRunner.Reporting;

/// <summary>
/// Works through the reporters' outbox: turns each finished run's request into one pending report per reporter that
/// applies, delivers the due ones (each reporter's in order, the reporters side by side, so a slow Gerrit does not
/// hold JUnit back), and settles or reschedules each with the reporter's outcome. A report that could not be
/// delivered waits <c>Reporting:RetryDelay</c>, doubling up to <c>Reporting:MaxRetryDelay</c>, and is tried until it
/// is; after a restart the due ones are simply due. Held and failed reports are logged as warnings and errors and
/// shown with the run (<c>cirunner show</c>, <c>GET /api/runs/{id}</c>): that is how the operator hears of them.
/// </summary>
public sealed partial class ReportDispatcher : BackgroundService
{
    /// <summary>How often the outbox is read: a finished run's reports start within about this long.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private const int BatchSize = 50;

    private readonly ReportStore _store;
    private readonly FinishedRunReader _reader;
    private readonly IReadOnlyList<IRunReporter> _reporters;
    private readonly Dictionary<string, IRunReporter> _byName;
    private readonly string _reporterList;
    private readonly ReportingOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly CiRunnerTelemetry _telemetry;
    private readonly ILogger<ReportDispatcher> _logger;
    private bool _orphansSettled;

    public ReportDispatcher(
        ReportStore store,
        FinishedRunReader reader,
        IEnumerable<IRunReporter> reporters,
        IOptions<ReportingOptions> options,
        TimeProvider timeProvider,
        CiRunnerTelemetry telemetry,
        ILogger<ReportDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _reader = reader;
        _reporters = reporters.ToList();
        _byName = _reporters.ToDictionary(r => r.Name, StringComparer.Ordinal);
        _reporterList = _byName.Count == 0 ? "(none)" : string.Join(", ", _byName.Keys.Order(StringComparer.Ordinal));
        _options = options.Value;
        _timeProvider = timeProvider;
        _telemetry = telemetry;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(_reporterList);
        var loops = new List<Task> { LoopAsync("planning", PlanAsync, stoppingToken) };

        // A loop per reporter: a Gerrit that hangs for minutes must not hold JUnit or a webhook back.
        loops.AddRange(_reporters.Select(reporter => LoopAsync(reporter.Name, token => DeliverDueAsync(reporter, token), stoppingToken)));
        await Task.WhenAll(loops);
    }

    /// <summary>Runs <paramref name="once"/> again at once while it finds work, else after <see cref="PollInterval"/>; never throws but on stopping.</summary>
    private async Task LoopAsync(string what, Func<CancellationToken, Task<int>> once, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int done = 0;
            try
            {
                done = await once(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: an attempt under way was counted and its report stays due, so the next start sends it.
                return;
            }
            catch (Exception e)
            {
                // A locked database or a bug must not stop reporting for good; the outbox still holds everything.
                LogLoopFailed(e, what);
            }

            if (done > 0)
            {
                continue;
            }

            try
            {
                await Task.Delay(PollInterval, _timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Turns finished runs' requests into pending reports; reports of a reporter no longer configured are skipped.</summary>
    private async Task<int> PlanAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<long> planned = await _store.PlanAsync(run => _reporters.Where(r => r.AppliesTo(run)).Select(r => r.Name).ToList(), BatchSize, cancellationToken);
        if (!_orphansSettled)
        {
            foreach (RunReportRecord orphan in await _store.ListPendingOfOthersAsync(_byName.Keys, cancellationToken))
            {
                await _store.SettleAsync(orphan.RunId, orphan.Reporter, ReportState.Skipped, $"The reporter {orphan.Reporter} is no longer configured.", null, cancellationToken);
            }

            _orphansSettled = true;
        }

        return planned.Count;
    }

    private async Task<int> DeliverDueAsync(IRunReporter reporter, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunReportRecord> due = await _store.ListDueAsync(reporter.Name, BatchSize, cancellationToken);
        foreach (RunReportRecord report in due)
        {
            try
            {
                await DeliverAsync(reporter, report, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogDeliveryCrashed(e, report.RunId, report.Reporter);
            }
        }

        return due.Count;
    }

    private async Task DeliverAsync(IRunReporter reporter, RunReportRecord report, CancellationToken cancellationToken)
    {
        int attempt = await _store.StartAttemptAsync(report.RunId, report.Reporter, cancellationToken);
        FinishedRun? run = await _reader.ReadAsync(report.RunId, cancellationToken);
        if (run is null)
        {
            await _store.SettleAsync(report.RunId, report.Reporter, ReportState.Skipped, $"Run {report.RunId} no longer exists.", null, cancellationToken);
            return;
        }

        ReportOutcome outcome;
        try
        {
            outcome = await reporter.ReportAsync(run, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogReporterCrashed(e, report.RunId, report.Reporter);
            outcome = ReportOutcome.Retry($"The {report.Reporter} reporter failed: {e.GetType().Name}: {e.Message}");
        }

        // Reporters keep secrets out of their texts; a login written into a URL is cut here all the same. Each settled
        // report is counted here, once: a retried attempt settles nothing, so it is not counted.
        string detail = UrlCredentials.RedactText(outcome.Detail);
        switch (outcome.Kind)
        {
            case ReportOutcomeKind.Sent:
                await _store.SettleAsync(report.RunId, report.Reporter, ReportState.Sent, detail, null, cancellationToken);
                LogSent(report.RunId, report.Reporter, attempt, detail);
                _telemetry.ReportSettled(report.Reporter, ReportState.Sent);
                break;
            case ReportOutcomeKind.Held:
                await _store.SettleAsync(report.RunId, report.Reporter, ReportState.Held, detail, null, cancellationToken);
                LogHeld(report.RunId, report.Reporter, detail);
                _telemetry.ReportSettled(report.Reporter, ReportState.Held);
                break;
            case ReportOutcomeKind.Skipped:
                await _store.SettleAsync(report.RunId, report.Reporter, ReportState.Skipped, detail, null, cancellationToken);
                LogSkipped(report.RunId, report.Reporter, detail);
                break;
            case ReportOutcomeKind.Failed:
                await _store.SettleAsync(report.RunId, report.Reporter, ReportState.Failed, null, detail, cancellationToken);
                LogFailed(report.RunId, report.Reporter, attempt, detail);
                _telemetry.ReportSettled(report.Reporter, ReportState.Failed);
                break;
            default:
                TimeSpan wait = _options.BackoffAfter(attempt);
                await _store.RetryLaterAsync(report.RunId, report.Reporter, _timeProvider.GetUtcNow() + wait, detail, cancellationToken);
                LogWillRetry(report.RunId, report.Reporter, attempt, wait, detail);
                break;
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Reporting finished runs to: {Reporters}")]
    private partial void LogStarted(string reporters);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Run {RunId} reported to {Reporter} (attempt {Attempt}): {Detail}")]
    private partial void LogSent(long runId, string reporter, int attempt, string detail);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Run {RunId}: the {Reporter} report is HELD for the operator: {Reason}")]
    private partial void LogHeld(long runId, string reporter, string reason);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "Run {RunId}: nothing to report to {Reporter}: {Reason}")]
    private partial void LogSkipped(long runId, string reporter, string reason);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Error, Message = "Run {RunId}: the {Reporter} report FAILED for good after {Attempt} attempts: {Error}")]
    private partial void LogFailed(long runId, string reporter, int attempt, string error);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Warning, Message = "Run {RunId}: the {Reporter} report was not delivered (attempt {Attempt}); next attempt in {Wait}: {Error}")]
    private partial void LogWillRetry(long runId, string reporter, int attempt, TimeSpan wait, string error);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Error, Message = "Run {RunId}: the {Reporter} reporter failed")]
    private partial void LogReporterCrashed(Exception exception, long runId, string reporter);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Error, Message = "Run {RunId}: delivering the {Reporter} report failed")]
    private partial void LogDeliveryCrashed(Exception exception, long runId, string reporter);

    [LoggerMessage(EventId = 7009, Level = LogLevel.Error, Message = "Reporting ({What}) failed; trying again shortly")]
    private partial void LogLoopFailed(Exception exception, string what);
}
