using Quartz;

namespace CiRunner.Reporting;

/// <summary>
/// Reads Gerrit's change messages for <c>recheck</c> comments every <c>Gerrit:RecheckInterval</c> (scheduled only when
/// a Gerrit section is configured). Never two at once: a slow Gerrit must not pile polls up.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class RecheckJob : IJob
{
    public static readonly JobKey Key = new("recheck", "cirunner");

    public static readonly TriggerKey TriggerKey = new("recheck", "cirunner");

    private readonly RecheckPoller _poller;
    private readonly ILogger<RecheckJob> _logger;

    public RecheckJob(RecheckPoller poller, ILogger<RecheckJob> logger)
    {
        _poller = poller;
        _logger = logger;
    }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // The poller logs and stores Gerrit trouble itself; this keeps anything unexpected inside the job.
            await _poller.PollAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRecheckFailed(e);
        }
    }

    [LoggerMessage(EventId = 6401, Level = LogLevel.Error, Message = "The recheck poll failed; it runs again at the next interval")]
    private partial void LogRecheckFailed(Exception exception);
}
