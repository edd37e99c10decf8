using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>
/// The serving instance's check-in: at start, every <see cref="Interval"/> while it runs, and a clean stop at the end,
/// so <c>/api/instances</c> and the queue page show which instances live and what each runs. A check-in that cannot
/// be written (a locked database) is logged and tried at the next tick; it never stops the service.
/// </summary>
internal sealed partial class InstanceCheckIn : BackgroundService
{
    /// <summary>How often a live instance checks in.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly InstanceStore _instances;
    private readonly string _instanceId;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<InstanceCheckIn> _logger;
    private readonly DateTimeOffset _startedAt;
    private readonly IEngineReport? _engine;

    public InstanceCheckIn(InstanceStore instances, string instanceId, TimeProvider timeProvider, ILogger<InstanceCheckIn>? logger = null, IEngineReport? engine = null)
    {
        _engine = engine;
        _instances = instances;
        _instanceId = instanceId;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<InstanceCheckIn>.Instance;
        _startedAt = timeProvider.GetUtcNow();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _timeProvider);
        do
        {
            try
            {
                await _instances.CheckInAsync(_instanceId, Environment.MachineName, Environment.ProcessId, _startedAt, _engine?.Now(), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckInFailed(_instanceId, e.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await _instances.MarkStoppedAsync(_instanceId, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCheckInFailed(_instanceId, e.Message);
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

    [LoggerMessage(EventId = 5020, Level = LogLevel.Warning, Message = "Instance {InstanceId} could not check in ({Error}); it tries again in 10 s")]
    private partial void LogCheckInFailed(string instanceId, string error);
}
