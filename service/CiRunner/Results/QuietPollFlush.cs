using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>
/// Writes the polls that found nothing new (<see cref="PollStatusStore.RecordQuietSuccess"/>) every
/// <see cref="Interval"/>, and once more at stop, so <c>cirunner status</c>, other instances and the next process
/// see when each module was last polled. One transaction per interval, whatever the number of modules and however
/// often they poll. A flush that cannot be written (a locked database) keeps its times for the next tick.
/// </summary>
internal sealed partial class QuietPollFlush : BackgroundService
{
    /// <summary>How late, at most, another process sees a quiet poll.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly PollStatusStore _pollStatus;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<QuietPollFlush> _logger;

    public QuietPollFlush(PollStatusStore pollStatus, TimeProvider timeProvider, ILogger<QuietPollFlush>? logger = null)
    {
        _pollStatus = pollStatus;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<QuietPollFlush>.Instance;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _timeProvider);
        while (await WaitAsync(timer, stoppingToken))
        {
            await FlushAsync(stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _pollStatus.FlushQuietPollsAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFlushFailed(e.Message);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 5021, Level = LogLevel.Warning, Message = "The times of polls that found nothing new could not be written ({Error}); they are tried again in 10 s")]
    private partial void LogFlushFailed(string error);
}
