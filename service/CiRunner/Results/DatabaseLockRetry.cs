using Polly;
using Polly.Retry;

namespace CiRunner.Results;

/// <summary>
/// The results database's one answer to another process holding it locked: a write that still finds it busy after
/// the database's own lock wait is tried again with backoff until <see cref="Timeout"/> has passed, then fails with a
/// <see cref="DatabaseLockedException"/> that says what holds the lock and what to do. Only units that stored
/// nothing when they failed come through here (the <c>BEGIN IMMEDIATE</c> of <see cref="ResultsDatabase.WriteAsync{T}"/>, a whole migration), so a
/// retry never writes anything twice.
/// </summary>
internal sealed class DatabaseLockRetry
{
    private static readonly ResiliencePropertyKey<long> StartedKey = new("cirunner.db.lock.started");
    private static readonly ResiliencePropertyKey<bool> RetriedKey = new("cirunner.db.lock.retried");

    private readonly StoreDialect _dialect;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;

    public DatabaseLockRetry(StoreDialect dialect, TimeSpan timeout, TimeProvider timeProvider, ILogger logger)
    {
        _dialect = dialect;
        _timeProvider = timeProvider;
        _logger = logger;
        Timeout = timeout;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && dialect.IsLocked(e) && Elapsed(args.Context) < Timeout),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(2),
                UseJitter = true,
                OnRetry = args =>
                {
                    if (args.AttemptNumber == 0)
                    {
                        args.Context.Properties.Set(RetriedKey, true);
                        _logger.DatabaseLocked(_dialect.Location, args.Context.OperationKey ?? "a write", Timeout);
                    }

                    return default;
                },
            })
            .Build();
    }

    /// <summary>How long a write keeps trying before it gives up.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Runs <paramref name="write"/>, again while the database is locked, up to <see cref="Timeout"/>.</summary>
    /// <exception cref="DatabaseLockedException">The database stayed locked for the whole timeout.</exception>
    public async Task<T> ExecuteAsync<T>(string operation, Func<CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        long started = _timeProvider.GetTimestamp();
        context.Properties.Set(StartedKey, started);
        try
        {
            T result = await _pipeline.ExecuteAsync(static async (ctx, work) => await work(ctx.CancellationToken), context, write);
            if (context.Properties.GetValue(RetriedKey, false))
            {
                double waited = _timeProvider.GetElapsedTime(started).TotalSeconds;
                _logger.DatabaseLockReleased(_dialect.Location, operation, waited);
            }

            return result;
        }
        catch (Exception e) when (_dialect.IsLocked(e))
        {
            throw new DatabaseLockedException(_dialect.Location, operation, _timeProvider.GetElapsedTime(started), _dialect.LockHolders, e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The pause before writing again after the database server did not answer.</summary>
    public static readonly TimeSpan UnavailablePause = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The same retry one level up, for a unit of work that must be stored however long the database stays
    /// unusable (a job's end, start-up recovery): after each failure <paramref name="keepTrying"/> accepts (a
    /// <see cref="DatabaseLockedException"/>, which already waited <see cref="Timeout"/>; a full disk; a database server
    /// that did not answer) it is reported to <paramref name="onDeferred"/> and the whole unit runs again, at once after
    /// a lock, after <paramref name="diskFullPause"/> on a full disk and after <see cref="UnavailablePause"/> otherwise. It ends when the unit goes through, when
    /// <paramref name="keepTrying"/> says no (the failure is thrown), or when the execution's token is cancelled.
    /// </summary>
    public static ResiliencePipeline UntilStored(
        Func<Exception, bool> isDiskFull, TimeProvider timeProvider, Func<Exception, bool> keepTrying, TimeSpan diskFullPause, Action<Exception> onDeferred)
    {
        ArgumentNullException.ThrowIfNull(isDiskFull);
        ArgumentNullException.ThrowIfNull(keepTrying);
        ArgumentNullException.ThrowIfNull(onDeferred);
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && keepTrying(e)),
                MaxRetryAttempts = int.MaxValue,
                // A locked database was already waited for inside the write; a full disk, or a server that refused
                // the connection at once, is given time before the next try.
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Outcome.Exception switch
                {
                    DatabaseLockedException => TimeSpan.Zero,
                    { } e when isDiskFull(e) => diskFullPause,
                    _ => UnavailablePause,
                }),
                OnRetry = args =>
                {
                    onDeferred(args.Outcome.Exception!);
                    return default;
                },
            })
            .Build();
    }

    private TimeSpan Elapsed(ResilienceContext context) =>
        _timeProvider.GetElapsedTime(context.Properties.GetValue(StartedKey, _timeProvider.GetTimestamp()));
}
