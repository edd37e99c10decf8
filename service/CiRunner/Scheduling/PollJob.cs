using CiRunner.Configuration;
using Quartz;

namespace CiRunner.Scheduling;

/// <summary>
/// Polls one module. There is one stored job per module (its key names the module), so
/// <see cref="DisallowConcurrentExecutionAttribute"/> means never two polls of one module at once while
/// different modules poll side by side.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class PollJob : IJob
{
    /// <summary>The group of every poll job and trigger; the name is the module's.</summary>
    public const string Group = "poll";

    /// <summary>Job data key holding the module name.</summary>
    public const string ModuleDataKey = "module";

    private readonly CiRunnerSettings _settings;
    private readonly ModulePoller _poller;
    private readonly ILogger<PollJob> _logger;

    public PollJob(CiRunnerSettings settings, ModulePoller poller, ILogger<PollJob> logger)
    {
        _settings = settings;
        _poller = poller;
        _logger = logger;
    }

    public static JobKey KeyFor(string module) => new(module, Group);

    public static TriggerKey TriggerKeyFor(string module) => new(module, Group);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? name = context.MergedJobDataMap.GetString(ModuleDataKey);
        try
        {
            if (name is null || _settings.FindModule(name) is not { } module)
            {
                // A stored job for a module removed from the configuration; the synchroniser deletes it at start.
                LogUnknownModule(name ?? "(none)");
                return;
            }

            // The poller stores and logs its own failures; this only keeps anything unexpected inside the job.
            await _poller.PollAsync(module, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogPollJobFailed(name ?? "(none)", e);
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Poll job for module {Module}, which is not configured; skipped")]
    private partial void LogUnknownModule(string module);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "Poll job for {Module} failed")]
    private partial void LogPollJobFailed(string module, Exception exception);
}
