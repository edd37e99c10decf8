using CiRunner.Configuration;
using CiRunner.Results;
using Quartz;

namespace CiRunner.Scheduling;

/// <summary>
/// Starts Quartz: makes the stored schedule match the configuration (<see cref="ScheduleSynchronizer"/>), then starts
/// the scheduler; at stop, shuts it down without waiting for running jobs (every job is idempotent, and a poll blocked
/// in a network connect cannot be cancelled).
/// <para>
/// In a cluster, and with a Gerrit section (recheck polls every few minutes), at once. One instance without Gerrit
/// fires its polls in process (<see cref="PollClock"/>), so Quartz has only the nightly and the retention triggers:
/// it starts <see cref="Lead"/> before the first of them is due, as stored or as configured, whichever comes first.
/// Until then the idle service carries none of the scheduler, its job store and their code (bench/idle.sh). A trigger
/// missed while the service was down is due already, so the scheduler starts at once and handles the misfire as it
/// always did. A trigger the configuration adds is stored when the scheduler starts, and fires at the same time as if
/// it had been stored at the service's start.
/// </para>
/// </summary>
internal sealed partial class SchedulerStart : IHostedService, IDisposable
{
    /// <summary>How long before the first trigger is due the scheduler starts: time to load it and synchronise.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromMinutes(1);

    /// <summary>The longest single wait: <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> takes at most about 49 days.</summary>
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);

    private readonly ScheduleSynchronizer _synchronizer;
    private readonly ISchedulerFactory _schedulerFactory;
    private readonly StoredScheduleReader _stored;
    private readonly CiRunnerSettings _settings;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<SchedulerStart> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _deferred = Task.CompletedTask;
    private volatile IScheduler? _scheduler;
    private DateTimeOffset? _startsAt;

    public SchedulerStart(
        ScheduleSynchronizer synchronizer,
        ISchedulerFactory schedulerFactory,
        StoredScheduleReader stored,
        CiRunnerSettings settings,
        IHostApplicationLifetime lifetime,
        TimeProvider timeProvider,
        ILogger<SchedulerStart> logger)
    {
        _synchronizer = synchronizer;
        _schedulerFactory = schedulerFactory;
        _stored = stored;
        _settings = settings;
        _lifetime = lifetime;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>When the scheduler starts, while it waits for its first trigger; null once it starts or runs (for health).</summary>
    public DateTimeOffset? StartsAt => _scheduler is null ? _startsAt : null;

    /// <summary>The running scheduler; null until it has started.</summary>
    public IScheduler? Scheduler => _scheduler;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        DateTimeOffset startAt = await StartTimeAsync(now, cancellationToken);
        if (startAt <= now)
        {
            // Failing here fails the service's start, as a broken schedule always did.
            await StartSchedulerAsync(cancellationToken);
            return;
        }

        _startsAt = startAt;
        LogDeferred(startAt);
        _deferred = StartLaterAsync(startAt, _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _deferred;
        if (_scheduler is { } scheduler)
        {
            await scheduler.Shutdown(waitForJobsToComplete: false, cancellationToken);
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>When the scheduler must run: now, or <see cref="Lead"/> before the first trigger is due.</summary>
    private async Task<DateTimeOffset> StartTimeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_settings.Store.IsPostgreSql || _settings.Gerrit is not null)
        {
            return now;
        }

        // A trigger stored by an earlier start (missed ones are due already), or one the configuration adds or moves
        // earlier (the synchroniser stores it when the scheduler starts, to fire at the same time). A cron that is over
        // (a one-off date) is left to the synchroniser to report, at once as before.
        DateTimeOffset due = await _stored.FirstDueAsync(SchedulingServiceCollectionExtensions.SchedulerName, cancellationToken) ?? DateTimeOffset.MaxValue;
        foreach (string cron in (string[])[_settings.Schedule.NightlyCron, .. _settings.Retention.Enabled ? [_settings.Retention.Cron] : Array.Empty<string>()])
        {
            if (new CronExpression(cron).GetNextValidTimeAfter(now) is not { } next)
            {
                return now;
            }

            due = next < due ? next : due;
        }

        return due - Lead;
    }

    private async Task StartLaterAsync(DateTimeOffset startAt, CancellationToken stoppingToken)
    {
        try
        {
            for (TimeSpan left = startAt - _timeProvider.GetUtcNow(); left > TimeSpan.Zero; left = startAt - _timeProvider.GetUtcNow())
            {
                await Task.Delay(left < LongestWait ? left : LongestWait, _timeProvider, stoppingToken);
            }

            await StartSchedulerAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The service stopped first.
        }
        catch (Exception e)
        {
            // As at a start at once, a scheduler that cannot start stops the service rather than leave it without its nightly.
            LogStartFailed(e);
            _lifetime.StopApplication();
        }
    }

    private async Task StartSchedulerAsync(CancellationToken cancellationToken)
    {
        await _synchronizer.SynchronizeAsync(cancellationToken);
        IScheduler scheduler = await _schedulerFactory.GetScheduler(cancellationToken);

        // Known before it starts, so a stop that comes meanwhile still shuts it down.
        _scheduler = scheduler;
        await scheduler.Start(cancellationToken);
    }

    [LoggerMessage(EventId = 6306, Level = LogLevel.Information, Message = "The scheduler starts at {StartAt}, a minute before its first trigger is due; polls fire in process until then")]
    private partial void LogDeferred(DateTimeOffset startAt);

    [LoggerMessage(EventId = 6307, Level = LogLevel.Critical, Message = "The scheduler could not start; stopping the service")]
    private partial void LogStartFailed(Exception exception);
}
