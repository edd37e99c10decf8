using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;
using Quartz;

namespace CiRunner.Scheduling;

/// <summary>
/// The nightly run: every tracked branch matching <see cref="ScheduleOptions.NightlyBranches"/> (by default
/// <c>stable/*</c>) of every module, at the head the poller last stored, optionally skipping branches whose head
/// is the one the previous nightly run tested.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class NightlyJob : IJob
{
    public static readonly JobKey Key = new("nightly", "cirunner");

    public static readonly TriggerKey TriggerKey = new("nightly", "cirunner");

    private readonly CiRunnerSettings _settings;
    private readonly PollStateStore _pollState;
    private readonly RunStore _runs;
    private readonly RunLauncher _launcher;
    private readonly ILogger<NightlyJob> _logger;

    public NightlyJob(CiRunnerSettings settings, PollStateStore pollState, RunStore runs, RunLauncher launcher, ILogger<NightlyJob> logger)
    {
        _settings = settings;
        _pollState = pollState;
        _runs = runs;
        _launcher = launcher;
        _logger = logger;
    }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await RunAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogNightlyFailed(e);
        }
    }

    /// <summary>Starts the nightly runs; returns their ids. Each module is tried even when another fails.</summary>
    public async Task<IReadOnlyList<long>> RunAsync(CancellationToken cancellationToken)
    {
        var patterns = _settings.Schedule.NightlyBranches.Select(BranchPattern.Parse).ToList();
        var runIds = new List<long>();
        int skipped = 0;
        foreach (TrackedModule module in _settings.Modules)
        {
            try
            {
                IReadOnlyList<BranchHeadRecord> heads = await _pollState.ListAsync(module.Name, cancellationToken);
                foreach (BranchHeadRecord head in heads.Where(h => h.DeletedAt is null && !MirrorPoller.IsChangeRef(h.Branch)
                    && module.Tracks(h.Branch) && patterns.Any(p => p.IsMatch(h.Branch))))
                {
                    if (_settings.Schedule.NightlySkipUnchanged
                        && await _runs.LastCommitAsync(module.Name, head.Branch, RunCause.Nightly, cancellationToken) == head.CommitSha)
                    {
                        LogUnchanged(module.Name, head.Branch, head.CommitSha);
                        skipped++;
                        continue;
                    }

                    RunDetail run = await _launcher.StartAsync(new RunTrigger(RunCause.Nightly, module.Name, head.Branch, head.CommitSha), cancellationToken);
                    runIds.Add(run.Run.Id);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogModuleFailed(module.Name, e);
            }
        }

        LogNightlyStarted(runIds.Count, skipped);
        return runIds;
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Nightly: {RunCount} runs started, {SkippedCount} unchanged branches skipped")]
    private partial void LogNightlyStarted(int runCount, int skippedCount);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Nightly: {Module} {Branch} is still at {CommitSha}, tested by the last nightly run; skipped")]
    private partial void LogUnchanged(string module, string branch, string commitSha);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Error, Message = "Nightly: starting the runs of {Module} failed")]
    private partial void LogModuleFailed(string module, Exception exception);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Error, Message = "Nightly job failed")]
    private partial void LogNightlyFailed(Exception exception);
}
