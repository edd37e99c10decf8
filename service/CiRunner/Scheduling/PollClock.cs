using System.Collections.Concurrent;
using CiRunner.Configuration;
using CiRunner.Matrix;

namespace CiRunner.Scheduling;

/// <summary>When each module is polled next, whichever clock fires the polls.</summary>
public interface IPollSchedule
{
    /// <summary>The module's next poll; null when no poll of it is scheduled (not configured, or the service is stopping).</summary>
    ValueTask<DateTimeOffset?> NextPollAtAsync(string moduleName, CancellationToken cancellationToken);
}

/// <summary>
/// Fires the polls of a single instance (the SQLite store) in process: each module on its own grid, first at
/// <see cref="ScheduleSynchronizer.FirstPollOffset"/> within the jitter after the start, then every
/// <c>Schedule:PollInterval</c>. A poll still running when its next slot comes skips that slot, so a module is never
/// polled twice at once, and at most <see cref="MaxConcurrentPolls"/> modules poll side by side.
/// </summary>
/// <remarks>
/// Polls need no shared or persistent schedule: a poll missed while the service was stopped is not owed (the next one
/// compares with the heads stored before the stop), and one process is the only poller. Quartz's persistent store
/// wrote about 26 statements per fired poll; at 50 modules every 5 s that was most of the idle service's CPU. In a
/// cluster (PostgreSQL), Quartz's clustered store keeps firing polls, because there it is what lets one instance
/// at a time poll a module.
/// </remarks>
internal sealed partial class PollClock : BackgroundService, IPollSchedule
{
    /// <summary>As many as Quartz's default thread pool ran at once, which the polls had before.</summary>
    public const int MaxConcurrentPolls = 10;

    private readonly CiRunnerSettings _settings;
    private readonly ModulePoller _poller;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<PollClock> _logger;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _next = new(StringComparer.Ordinal);

    public PollClock(CiRunnerSettings settings, ModulePoller poller, TimeProvider timeProvider, ILogger<PollClock> logger)
    {
        _settings = settings;
        _poller = poller;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The first slot on the grid <paramref name="slot"/> + k x <paramref name="interval"/> that is after <paramref name="now"/>.</summary>
    public static DateTimeOffset NextSlot(DateTimeOffset slot, TimeSpan interval, DateTimeOffset now)
    {
        if (slot > now)
        {
            return slot;
        }

        long missed = ((now - slot).Ticks / interval.Ticks) + 1;
        return slot + TimeSpan.FromTicks(missed * interval.Ticks);
    }

    public ValueTask<DateTimeOffset?> NextPollAtAsync(string moduleName, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_next.TryGetValue(moduleName, out DateTimeOffset next) ? next : (DateTimeOffset?)null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan interval = _settings.Schedule.PollInterval;
        DateTimeOffset start = _timeProvider.GetUtcNow();
        var due = new PriorityQueue<TrackedModule, DateTimeOffset>();
        foreach (TrackedModule module in _settings.Modules)
        {
            DateTimeOffset first = start + ScheduleSynchronizer.FirstPollOffset(module.Name, _settings.Schedule.PollJitter);
            due.Enqueue(module, first);
            _next[module.Name] = first;
            LogPollScheduled(module.Name, interval, first);
        }

        var running = new Dictionary<string, Task>(StringComparer.Ordinal);
        using var slots = new SemaphoreSlim(MaxConcurrentPolls);
        try
        {
            while (due.TryPeek(out _, out DateTimeOffset at))
            {
                TimeSpan wait = at - _timeProvider.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _timeProvider, stoppingToken);
                }

                DateTimeOffset now = _timeProvider.GetUtcNow();
                while (due.TryPeek(out TrackedModule? module, out at) && at <= now)
                {
                    due.Dequeue();
                    DateTimeOffset next = NextSlot(at, interval, now);
                    due.Enqueue(module, next);
                    _next[module.Name] = next;
                    if (running.TryGetValue(module.Name, out Task? poll) && !poll.IsCompleted)
                    {
                        LogSlotSkipped(module.Name, next);
                        continue;
                    }

                    running[module.Name] = PollAsync(module, slots, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping. Running polls see the same token; they are not awaited, as Quartz did not await them: a poll
            // blocked in a network connect cannot be cancelled, and an interrupted poll stored nothing half-way.
        }
        finally
        {
            _next.Clear();
        }
    }

    private async Task PollAsync(TrackedModule module, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        // Off the clock's loop at once: the poller's first steps before its own awaits must not delay the next slot.
        await Task.Yield();
        try
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                // The poller stores and logs its own failures; this only keeps anything unexpected inside the poll.
                await _poller.PollAsync(module, cancellationToken);
            }
            finally
            {
                slots.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
        {
            // The semaphore went with the stopped loop while this poll finished.
        }
        catch (Exception e)
        {
            LogPollFailed(module.Name, e);
        }
    }

    [LoggerMessage(EventId = 6110, Level = LogLevel.Information, Message = "Polling {Module} every {Interval}, first at {FirstPoll}")]
    private partial void LogPollScheduled(string module, TimeSpan interval, DateTimeOffset firstPoll);

    [LoggerMessage(EventId = 6111, Level = LogLevel.Warning, Message = "Poll of {Module} still running at its next slot; that slot is skipped, next at {NextPoll}")]
    private partial void LogSlotSkipped(string module, DateTimeOffset nextPoll);

    [LoggerMessage(EventId = 6112, Level = LogLevel.Error, Message = "Poll of {Module} failed")]
    private partial void LogPollFailed(string module, Exception exception);
}
