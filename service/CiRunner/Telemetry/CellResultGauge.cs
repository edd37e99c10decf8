using System.Diagnostics;
using System.Diagnostics.Metrics;
using CiRunner.Results;

namespace CiRunner.Telemetry;

/// <summary>
/// <c>cirunner.cell.result</c>: 1 for the latest result of every cell, 0 for the other results, so a dashboard can
/// sum or filter by result; and <c>cirunner.idempotency.changes</c>: the resource properties the idempotency steps of
/// each cell's latest result changed, so an alert can follow drift. Both are read from <see cref="CellResultStore"/>
/// through one cache: scrapes come every few seconds, the table changes only when a job ends.
/// </summary>
public sealed partial class CellResultGauge : IDisposable
{
    /// <summary>Long enough that a scrape every 5 s reads the table rarely, short enough that a finished job shows soon.</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(15);

    /// <summary>A scrape waits this long for the first read; later scrapes never wait and see the previous values.</summary>
    private static readonly TimeSpan FirstReadWait = TimeSpan.FromSeconds(1);

    private static readonly JobResult[] Results = Enum.GetValues<JobResult>();

    private readonly CellResultStore _cells;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<CellResultGauge> _logger;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _disposed = new();
    private IReadOnlyList<CellResultRecord> _snapshot = [];
    private IReadOnlyList<CellIdempotencyChanges> _changes = [];
    private long _readAt = long.MinValue;
    private Task? _refreshing;
    private bool _isDisposed;

    public CellResultGauge(CiRunnerTelemetry telemetry, CellResultStore cells, TimeProvider timeProvider, ILogger<CellResultGauge> logger)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        _cells = cells;
        _timeProvider = timeProvider;
        _logger = logger;
        telemetry.Meter.CreateObservableGauge("cirunner.cell.result", Observe, "1", "1 for the latest result of each matrix cell, 0 for its other results.");
        telemetry.Meter.CreateObservableGauge(
            "cirunner.idempotency.changes",
            ObserveChanges,
            "{change}",
            "Resource properties (type[title] property) that the idempotency steps of each matrix cell's latest result changed; 0 when it converged.");
    }

    public void Dispose()
    {
        lock (_lock)
        {
            // The gauge stays on the static meter after its host stopped; it reports nothing from now on.
            _isDisposed = true;
        }

        _disposed.Cancel();
        _disposed.Dispose();
    }

    /// <summary>Makes the next scrape read the store again (a job just ended).</summary>
    public void Invalidate()
    {
        lock (_lock)
        {
            _readAt = long.MinValue;
        }
    }

    private IEnumerable<Measurement<int>> Observe()
    {
        lock (_lock)
        {
            if (_isDisposed)
            {
                return [];
            }
        }

        return ObserveCells();
    }

    private IEnumerable<Measurement<int>> ObserveChanges()
    {
        lock (_lock)
        {
            if (_isDisposed)
            {
                return [];
            }
        }

        WaitForFreshValues();
        IReadOnlyList<CellIdempotencyChanges> changes;
        lock (_lock)
        {
            changes = _changes;
        }

        return changes.Select(cell => new Measurement<int>(
            cell.Changes,
            new TagList
            {
                { "module", cell.Module },
                { "branch", cell.Branch },
                { "cell", cell.CellKey },
            }));
    }

    private void WaitForFreshValues()
    {
        Task? refreshing = StartRefreshIfStale(out bool neverRead);
        if (neverRead && refreshing is not null)
        {
            // The callback is synchronous; waiting once, boundedly, makes the first scrape after a start complete.
            refreshing.Wait(FirstReadWait);
        }
    }

    private IEnumerable<Measurement<int>> ObserveCells()
    {
        WaitForFreshValues();
        IReadOnlyList<CellResultRecord> snapshot;
        lock (_lock)
        {
            snapshot = _snapshot;
        }

        foreach (CellResultRecord cell in snapshot)
        {
            foreach (JobResult result in Results)
            {
                yield return new Measurement<int>(
                    cell.Result == result ? 1 : 0,
                    new TagList
                    {
                        { "module", cell.Module },
                        { "branch", cell.Branch },
                        { "cell", cell.CellKey },
                        { "result", result.ToWire() },
                    });
            }
        }
    }

    private Task? StartRefreshIfStale(out bool neverRead)
    {
        lock (_lock)
        {
            neverRead = _snapshot.Count == 0;
            bool fresh = _readAt != long.MinValue && _timeProvider.GetElapsedTime(_readAt) < MaxAge;
            if (fresh || _isDisposed)
            {
                return null;
            }

            if (_refreshing is null || _refreshing.IsCompleted)
            {
                _refreshing = RefreshAsync(_disposed.Token);
            }

            return _refreshing;
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<CellResultRecord> cells = await _cells.ListAllAsync(cancellationToken);
            IReadOnlyList<CellIdempotencyChanges> changes = await _cells.ListIdempotencyChangesAsync(cancellationToken);
            lock (_lock)
            {
                _snapshot = cells;
                _changes = changes;
                _readAt = _timeProvider.GetTimestamp();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A scrape must not fail because the database is busy; the previous values stay until the next try.
            LogRefreshFailed(e);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the latest cell results for the cirunner.cell.result and cirunner.idempotency.changes metrics")]
    private partial void LogRefreshFailed(Exception exception);
}
