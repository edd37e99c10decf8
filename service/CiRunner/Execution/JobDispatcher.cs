using CiRunner.Configuration;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// The service's one hosted service for jobs, so their start and stop happen in a stated order. It starts with
/// <see cref="StartupRecovery"/> (nothing runs before what an earlier process left is closed), then takes jobs from
/// <see cref="NextJobSource"/> and runs each on the engine it got a slot on (<see cref="EnginePool"/>: as many at once as
/// the engines' capacities) through <see cref="JobRunner"/>, while <see cref="EnginePool.WatchAsync"/> asks the engines
/// whether they answer and <see cref="ClusterWatch"/> feeds the queue from the shared one and ends the jobs of
/// instances that stopped checking in; a job that ends in a transient error is queued again within <c>Service:MaxAttempts</c>
/// (<see cref="Results.RetryPolicy"/>). On stop it starts nothing more, lets running jobs finish for
/// <c>Service:DrainTimeout</c>, then cancels the rest.
/// </summary>
public sealed partial class JobDispatcher : BackgroundService
{
    private readonly StartupRecovery _recovery;
    private readonly ClusterWatch _cluster;
    private readonly NextJobSource _source;
    private readonly JobRunner _runner;
    private readonly RunningJobs _running;
    private readonly EnginePool _pool;
    private readonly ServiceOptions _service;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<JobDispatcher> _logger;

    public JobDispatcher(
        StartupRecovery recovery,
        ClusterWatch cluster,
        NextJobSource source,
        JobRunner runner,
        RunningJobs running,
        EnginePool pool,
        IOptions<ServiceOptions> service,
        TimeProvider timeProvider,
        ILogger<JobDispatcher> logger)
    {
        _recovery = recovery;
        _cluster = cluster;
        _source = source;
        _runner = runner;
        _running = running;
        _pool = pool;
        _service = service.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Completes when start-up recovery is done (for tests and health).</summary>
    public Task Recovered => _recovery.Recovered;

    /// <summary>Whether the dispatch loop is alive (for health): it ended only if the host is stopping or it crashed.</summary>
    public bool IsDispatching => ExecuteTask is { IsCompleted: false };

    /// <summary>The service is stopping: nothing new starts, and running jobs have the drain time to finish.</summary>
    public bool IsDraining => _running.IsDraining;

    /// <summary>How many jobs this process is running now.</summary>
    public int RunningCount => _running.Count;

    /// <summary>
    /// Stops in order: no job starts any more (queued ones stay queued in the database for the next start), running
    /// jobs have <c>Service:DrainTimeout</c> to end by themselves, and those still running then are cancelled: their
    /// containers are removed and they end <c>cancelled</c>, saying the service shut down. The host's shutdown
    /// timeout (<c>Service:DrainTimeout</c> plus 90 s, see <c>ServiceHost</c>) leaves room for that teardown after the drain.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _running.BeginDrainAsync();
        Task execution = ExecuteTask ?? Task.CompletedTask;
        int running = _running.Count;
        if (running > 0 && !execution.IsCompleted)
        {
            LogDraining(running, _service.DrainTimeout.TotalSeconds);
            using var drained = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                await Task.WhenAny(execution, Task.Delay(_service.DrainTimeout, _timeProvider, drained.Token));
            }
            finally
            {
                await drained.CancelAsync();
            }

            if (!execution.IsCompleted)
            {
                LogDrainOver(_running.Count, _service.DrainTimeout.TotalSeconds);
            }
        }

        await base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// Cancels a running job: its container is killed and it ends as cancelled. False when this process is not
    /// running the job (queued jobs are cancelled in the store and the queue instead).
    /// </summary>
    public bool TryCancelRunning(long jobId) => _running.TryCancel(jobId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _recovery.RecoverAsync(stoppingToken);

        // Starting jobs ends with the drain; the jobs themselves see only the stopping token, once the drain is over.
        using var dispatching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _running.Draining);
        var running = new List<Task>();
        Task watching = _cluster.RunAsync(dispatching.Token);
        Task engines = _pool.WatchAsync(dispatching.Token);
        try
        {
            while (true)
            {
                (QueuedJob next, JobEngine engine) = await _source.NextAsync(dispatching.Token);
                running.RemoveAll(task => task.IsCompleted);
                running.Add(RunThenReleaseAsync(next, engine, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (dispatching.IsCancellationRequested)
        {
            // Draining or stopping: jobs still queued stay queued in the database and run after the next start.
        }

        await Task.WhenAll(running);
        await watching;
        await engines;
    }

    private async Task RunThenReleaseAsync(QueuedJob queued, JobEngine engine, CancellationToken stoppingToken)
    {
        try
        {
            await _runner.RunAsync(queued, engine, stoppingToken);
        }
        finally
        {
            _source.Ended(queued);
            _pool.Release(engine);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: no new jobs start; waiting up to {Seconds:F0} s for {Running} running jobs to finish")]
    private partial void LogDraining(int running, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The drain time of {Seconds:F0} s is over: cancelling {Running} jobs that are still running")]
    private partial void LogDrainOver(int running, double seconds);
}
