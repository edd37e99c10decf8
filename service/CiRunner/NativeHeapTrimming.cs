namespace CiRunner;

/// <summary>
/// Gives the C heap's free pages back every <see cref="Interval"/> while the service runs (<see cref="NativeHeap.Trim"/>):
/// libgit2, SQLite and the runtime free memory in the middle of their heaps, which glibc keeps resident otherwise.
/// A trim of heaps this size costs well under a millisecond.
/// </summary>
internal sealed class NativeHeapTrimming : BackgroundService
{
    /// <summary>Start-up's and the first polls' garbage goes at the first tick; a job's, within a minute of it ending.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _timeProvider;
    private readonly Func<bool> _trim;

    public NativeHeapTrimming(TimeProvider timeProvider)
        : this(timeProvider, NativeHeap.Trim)
    {
    }

    /// <summary>With the trim of the caller's: tests count the ticks.</summary>
    internal NativeHeapTrimming(TimeProvider timeProvider, Func<bool> trim)
    {
        _timeProvider = timeProvider;
        _trim = trim;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                _trim();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
