using System.Net.Sockets;
using CiRunner.Configuration;
using Docker.DotNet;
using Polly;
using Polly.Retry;

namespace CiRunner.Execution;

/// <summary>Since when the Docker engine has not answered, and what the last try said.</summary>
/// <param name="Since">When the first ping of this outage failed (UTC).</param>
/// <param name="Error">The last ping's error.</param>
public sealed record EngineOutage(DateTimeOffset Since, string Error);

/// <summary>Tunables of <see cref="DockerEngineMonitor"/> (not configuration: they suit every engine).</summary>
public sealed class EngineMonitorOptions
{
    /// <summary>A successful ping is trusted this long, so a busy dispatcher pings at most about once per interval.</summary>
    public TimeSpan CacheFor { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bound for one ping: an engine that hangs counts as down.</summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>First wait between pings while the engine is down; it doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two pings while the engine is down: how late a returning engine may be noticed.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Whether the Docker engine answers, by a cheap ping that is remembered briefly. The dispatcher asks before it
/// starts a job, and while the engine is down it waits here (pinging with a bounded backoff) with the jobs still
/// queued, so an outage spends no job's attempts. The outage is logged once when it starts and once when it ends,
/// and <see cref="Outage"/> says so to the queue page and API meanwhile.
/// </summary>
public sealed partial class DockerEngineMonitor
{
    private readonly EngineProbe _probe;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DockerEngineMonitor> _logger;
    private readonly EngineMonitorOptions _options;
    private readonly string _name;
    private readonly ResiliencePipeline _untilAnswered;
    private readonly Lock _lock = new();
    private EngineOutage? _outage;
    private long? _lastAnswer;
    private EngineOutage? _lastError;
    private long _errors;

    /// <param name="probe">Asks the engine.</param>
    /// <param name="timeProvider">Clock.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="options">Tunables.</param>
    /// <param name="name">The engine's name in the pool, for logs.</param>
    public DockerEngineMonitor(EngineProbe probe, TimeProvider timeProvider, ILogger<DockerEngineMonitor> logger, EngineMonitorOptions? options = null, string name = DockerOptions.DefaultEngineName)
    {
        _name = name;
        _probe = probe;
        _timeProvider = timeProvider;
        _logger = logger;
        _options = options ?? new EngineMonitorOptions();
        _untilAnswered = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<EngineUnavailableException>(),
                MaxRetryAttempts = int.MaxValue,
                Delay = _options.FirstBackoff,
                MaxDelay = _options.MaxBackoff,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();
    }

    /// <summary>The current outage, or null while the engine answers (or has not been asked yet).</summary>
    public EngineOutage? Outage
    {
        get
        {
            lock (_lock)
            {
                return _outage;
            }
        }
    }

    /// <summary>The engine's last error (an outage's or a lost job's) and when it happened; kept after it answers again.</summary>
    public EngineOutage? LastError
    {
        get
        {
            lock (_lock)
            {
                return _lastError;
            }
        }
    }

    /// <summary>Outages begun and jobs that lost the engine, since the service started.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>A job lost the engine (its error had a transient cause there): counted, and its cause becomes the last error.</summary>
    public void RecordJobLost(string cause)
    {
        Interlocked.Increment(ref _errors);
        lock (_lock)
        {
            _lastError = new EngineOutage(_timeProvider.GetUtcNow(), cause);
            _lastAnswer = null;
        }
    }

    /// <summary>Forgets the last answer, so the next question pings: a job just lost its connection to the engine.</summary>
    public void Invalidate()
    {
        lock (_lock)
        {
            _lastAnswer = null;
        }
    }

    /// <summary>Whether the engine answers now: a ping, unless one succeeded within <see cref="EngineMonitorOptions.CacheFor"/>.</summary>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PingAsync(cancellationToken);
            return true;
        }
        catch (EngineUnavailableException)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns once the engine answers, pinging with a backoff that doubles up to
    /// <see cref="EngineMonitorOptions.MaxBackoff"/> while it does not. True when it had been down (the caller may
    /// then clean up after the outage).
    /// </summary>
    public async Task<bool> WaitUntilAvailableAsync(CancellationToken cancellationToken)
    {
        // Also true when the outage began during this call: an engine that went away and came back between two
        // watches still needs its sweep, and the queue that stopped taking jobs for it still needs waking.
        bool wasDown = Outage is not null;
        await _untilAnswered.ExecuteAsync(
            async token =>
            {
                try
                {
                    await PingAsync(token);
                }
                catch (EngineUnavailableException)
                {
                    wasDown = true;
                    throw;
                }
            },
            cancellationToken);
        return wasDown;
    }

    /// <summary>
    /// Asks the engine now (never from the cache) and says why not: null when it answers within
    /// <see cref="EngineMonitorOptions.PingTimeout"/>. Records nothing, so a caller that only reports (a liveness
    /// probe) neither starts nor ends an outage that the dispatcher's own pings account for.
    /// </summary>
    public async Task<string?> AskNowAsync(CancellationToken cancellationToken)
    {
        try
        {
            await AskAsync(cancellationToken);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Describe(EngineTransport.Unwrap(e));
        }
    }

    private async ValueTask PingAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_lastAnswer is { } last && _timeProvider.GetElapsedTime(last) < _options.CacheFor)
            {
                return;
            }
        }

        try
        {
            await AskAsync(cancellationToken);
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex
            && (ex is HttpRequestException or SocketException or IOException or TimeoutException or DockerApiException
                || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)))
        {
            string error = Describe(ex);
            Down(error);
            throw new EngineUnavailableException(error, ex);
        }

        Up();
    }

    /// <summary>One ping, bounded by <see cref="EngineMonitorOptions.PingTimeout"/>.</summary>
    private async Task AskAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PingTimeout);

        // WaitAsync: the client does not give up on an engine that accepted the connection and then says nothing
        // (hung, or frozen) until its own 100 s timeout; the ping's answer is what counts, so stop waiting for it.
        await _probe.PingAsync(timeout.Token).WaitAsync(timeout.Token);
    }

    private string Describe(Exception unwrapped) =>
        unwrapped is OperationCanceledException ? $"no answer to a ping within {_options.PingTimeout.TotalSeconds:0} s" : unwrapped.Message;

    private void Down(string error)
    {
        bool started;
        lock (_lock)
        {
            _lastAnswer = null;
            started = _outage is null;
            _outage = new EngineOutage(_outage?.Since ?? _timeProvider.GetUtcNow(), error);
            _lastError = new EngineOutage(_timeProvider.GetUtcNow(), error);
        }

        if (started)
        {
            Interlocked.Increment(ref _errors);
            LogEngineDown(_name, error);
        }
    }

    private void Up()
    {
        EngineOutage? ended;
        lock (_lock)
        {
            _lastAnswer = _timeProvider.GetTimestamp();
            ended = _outage;
            _outage = null;
        }

        if (ended is not null)
        {
            double seconds = (_timeProvider.GetUtcNow() - ended.Since).TotalSeconds;
            LogEngineBack(_name, seconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker engine {Engine} does not answer ({Error}); it takes no jobs until it does, and running ones that lost it are retried")]
    private partial void LogEngineDown(string engine, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Docker engine {Engine} answers again after {Seconds:F0} s; it takes jobs again")]
    private partial void LogEngineBack(string engine, double seconds);

    /// <summary>A ping failed; carries the reason.</summary>
    private sealed class EngineUnavailableException : Exception
    {
        public EngineUnavailableException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
