using System.Collections.Concurrent;
using System.Diagnostics;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Telemetry;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// Takes jobs from the queue and runs up to <c>Docker:ParallelJobs</c> of them at once. At start it recovers what
/// an earlier process of this instance left: containers are reaped, jobs that were running end as interrupted (and
/// are queued again as their next attempt), and jobs still queued in the database are queued again. Before it
/// starts a job it makes sure the Docker engine answers, holding the queue while it does not. A job that ends in a
/// transient error is queued again within <c>Service:MaxAttempts</c>. On stop it starts nothing more, lets running
/// jobs finish for <c>Service:DrainTimeout</c>, then cancels the rest.
/// </summary>
public sealed partial class JobDispatcher : BackgroundService
{
    private const string InterruptedSummary = "The service stopped while this job ran; its container was removed when the service started again.";
    private const string DrainKey = "Service:DrainTimeout";

    private readonly JobQueue _queue;
    private readonly JobStore _jobs;
    private readonly JobProgressStore _progress;
    private readonly RunStore _runs;
    private readonly JobSpecFactory _specs;
    private readonly IJobExecutor _executor;
    private readonly JobRecorder _recorder;
    private readonly OrphanReaper _reaper;
    private readonly ServiceOptions _service;
    private readonly DockerOptions _docker;
    private readonly ILogger<JobDispatcher> _logger;
    private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CiRunnerTelemetry? _telemetry;
    private readonly CellResultGauge? _cellGauge;
    private readonly DockerEngineMonitor? _engine;
    private readonly TimeProvider _timeProvider;

    /// <summary>Cancelled when the stop begins: no job is started after it, running ones go on for the drain time.</summary>
    private readonly CancellationTokenSource _draining = new();
    private long _drainStarted;

    /// <summary>1 when a job lost its engine: containers the engine may have left are looked for before the next start.</summary>
    private int _sweepDue;

    private readonly IReadOnlyList<IJobStartGate> _startGates;
    private CancellationToken _stopping;

    /// <summary>The cancellation of each running job, so the API can cancel one job without stopping the others.</summary>
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();

    public JobDispatcher(
        JobQueue queue,
        JobStore jobs,
        JobProgressStore progress,
        RunStore runs,
        JobSpecFactory specs,
        IJobExecutor executor,
        JobRecorder recorder,
        OrphanReaper reaper,
        IOptions<ServiceOptions> service,
        IOptions<DockerOptions> docker,
        ILogger<JobDispatcher> logger,
        CiRunnerTelemetry? telemetry = null,
        CellResultGauge? cellGauge = null,
        DockerEngineMonitor? engine = null,
        TimeProvider? timeProvider = null,
        IEnumerable<IJobStartGate>? startGates = null)
    {
        _engine = engine;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _startGates = startGates?.ToList() ?? [];
        _telemetry = telemetry;
        _cellGauge = cellGauge;
        _queue = queue;
        _jobs = jobs;
        _progress = progress;
        _runs = runs;
        _specs = specs;
        _executor = executor;
        _recorder = recorder;
        _reaper = reaper;
        _service = service.Value;
        _docker = docker.Value;
        _logger = logger;
    }

    /// <summary>Completes when start-up recovery is done (for tests and health).</summary>
    public Task Recovered => _recovered.Task;

    /// <summary>Whether the dispatch loop is alive (for health): it ended only if the host is stopping or it crashed.</summary>
    public bool IsDispatching => ExecuteTask is { IsCompleted: false };

    /// <summary>The service is stopping: nothing new starts, and running jobs have the drain time to finish.</summary>
    public bool IsDraining => _draining.IsCancellationRequested;

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
        Interlocked.Exchange(ref _drainStarted, _timeProvider.GetTimestamp());
        await _draining.CancelAsync();
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

    public override void Dispose()
    {
        _draining.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Cancels a running job: its container is killed and it ends as cancelled. False when this process is not
    /// running the job (queued jobs are cancelled in the store and the queue instead).
    /// </summary>
    public bool TryCancelRunning(long jobId)
    {
        if (!_running.TryGetValue(jobId, out CancellationTokenSource? cancellation))
        {
            return false;
        }

        try
        {
            cancellation.Cancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            // The job ended between the lookup and the cancel.
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        await RecoverAsync(stoppingToken);

        // Starting jobs ends with the drain; the jobs themselves see only the stopping token, once the drain is over.
        using var dispatching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _draining.Token);
        using var slots = new SemaphoreSlim(_docker.ParallelJobs);
        var running = new List<Task>();
        try
        {
            while (true)
            {
                await slots.WaitAsync(dispatching.Token);
                QueuedJob? next = null;
                try
                {
                    next = await NextJobAsync(dispatching.Token);
                }
                finally
                {
                    if (next is null)
                    {
                        slots.Release();
                    }
                }

                running.RemoveAll(task => task.IsCompleted);
                running.Add(RunThenReleaseAsync(next, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (dispatching.IsCancellationRequested)
        {
            // Draining or stopping: jobs still queued stay queued in the database and run after the next start.
        }

        await Task.WhenAll(running);
    }

    /// <summary>The next job to start, once the Docker engine answers: an outage holds the queue rather than failing jobs.</summary>
    private async Task<QueuedJob> NextJobAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await WaitForEngineAsync(cancellationToken);
            QueuedJob next = await _queue.DequeueAsync(WaitForStartGatesAsync, cancellationToken);
            if (_engine is null || await _engine.IsAvailableAsync(cancellationToken))
            {
                return next;
            }

            // The engine went away while the dispatcher waited for work: the job keeps its place at the front.
            _queue.PutBack(next);
        }
    }

    private async Task WaitForEngineAsync(CancellationToken cancellationToken)
    {
        if (_engine is null)
        {
            return;
        }

        bool wasDown = await _engine.WaitUntilAvailableAsync(cancellationToken);

        // Not ||: the flag is taken in either case, so one sweep answers both reasons.
        if (wasDown | Interlocked.Exchange(ref _sweepDue, 0) == 1)
        {
            await SweepAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Removes this instance's containers that no running job of this process owns: a job that lost its engine could
    /// not remove its container, and a daemon restart may keep it. Failing here only leaves them to the next start.
    /// </summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<ReapedContainer> reaped = await _reaper.ReapAsync(
                _service.InstanceId, container => container.JobId is { } jobId && _running.ContainsKey(jobId), cancellationToken);
            if (reaped.Count > 0)
            {
                LogSwept(reaped.Count, _service.InstanceId);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReapFailed(e, _service.InstanceId);
        }
    }

    /// <summary>With a job waiting: until every start gate (free disk space, ...) lets it start.</summary>
    private async Task WaitForStartGatesAsync(CancellationToken cancellationToken)
    {
        foreach (IJobStartGate gate in _startGates)
        {
            await gate.WaitUntilOpenAsync(cancellationToken);
        }
    }

    private async Task RunThenReleaseAsync(QueuedJob queued, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(queued, stoppingToken);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task RunAsync(QueuedJob queued, CancellationToken stoppingToken)
    {
        using IDisposable? scope = _logger.BeginScope(new Dictionary<string, object>(StringComparer.Ordinal) { ["RunId"] = queued.RunId, ["JobId"] = queued.JobId });
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        JobLabels? labels = null;
        bool started = false;
        _running[queued.JobId] = cancellation;
        try
        {
            JobRecord? job = await _jobs.GetAsync(queued.JobId, stoppingToken);
            RunRecord? run = job is null ? null : await _runs.GetAsync(job.RunId, stoppingToken);
            if (job is null || run is null || job.State != JobState.Queued)
            {
                return;
            }

            labels = new JobLabels(run.Module, run.Branch, job.Release, job.Scenario, job.Kind);
            using Activity? activity = CiRunnerTelemetry.ActivitySource.StartActivity(
                $"job {job.CellKey}", ActivityKind.Internal, CiRunnerTelemetry.RunContext(run, _service.InstanceId));
            activity?.SetTag("cirunner.run.id", run.Id);
            activity?.SetTag("cirunner.job.id", job.Id);
            activity?.SetTag("cirunner.module", run.Module);
            activity?.SetTag("cirunner.branch", run.Branch);
            activity?.SetTag("cirunner.cell", job.CellKey);

            JobSpec spec;
            IReadOnlyList<JobModuleRecord> lockfile;
            try
            {
                (spec, lockfile) = _specs.Create(run, job);
            }
            catch (ModuleSetException e)
            {
                if (await _jobs.MarkStartedAsync(job.Id, null, null, stoppingToken))
                {
                    await FinishAsync(job.Id, End(JobResult.Error, e.Message), labels, TimeSpan.Zero);
                }

                return;
            }

            if (!await _jobs.MarkStartedAsync(job.Id, null, spec.LogFilePath, stoppingToken))
            {
                // Superseded or cancelled while it waited.
                return;
            }

            started = true;
            _telemetry?.JobStarted();
            await _progress.RecordModulesAsync(job.Id, lockfile, stoppingToken);
            LogJobStarted(job.Id, run.Id, job.CellKey, spec.Image);
            IJobProgress progress = _telemetry is null
                ? _recorder
                : new TelemetryJobProgress(_recorder, _telemetry, labels, activity?.Context ?? default);
            JobOutcome outcome = await _executor.ExecuteAsync(spec, progress, cancellation.Token);
            string summary = outcome.Result != JobResult.Cancelled ? outcome.Summary
                : stoppingToken.IsCancellationRequested ? ShutdownSummary(outcome.Summary)
                : $"Cancelled through the API ({outcome.Summary}).";
            if (outcome.TransientCause is not null)
            {
                // The engine let this job down: ask it again before the next start, and clean up after it.
                _engine?.Invalidate();
                Interlocked.Exchange(ref _sweepDue, 1);
            }

            // A job the service's own stop cancelled is the service's doing, like a transient error (RetryPolicy):
            // its next attempt waits in the database and runs after the next start.
            JobEnd end = End(outcome.Result, summary) with
            {
                TransientCause = outcome.TransientCause is not null,
                ServiceStopping = stoppingToken.IsCancellationRequested,
                PackageSnapshot = outcome.PackageSnapshot,
            };
            await FinishAsync(job.Id, end, labels, outcome.Duration);
            activity?.SetTag("cirunner.job.result", CiRunnerTelemetry.ResultName(outcome.Result));
            if (outcome.Result != JobResult.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome.Result.ToString());
            }

            LogJobFinished(job.Id, run.Id, job.CellKey, outcome.Result, outcome.Duration.TotalSeconds);
        }
        catch (DatabaseLockedException e) when (!started && !stoppingToken.IsCancellationRequested)
        {
            // Its start could not be recorded, so it never started: it stays queued in the store, and here too.
            LogStartDeferred(queued.JobId, queued.RunId, e.Message);
            _queue.Enqueue(queued);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            bool shutdown = stoppingToken.IsCancellationRequested;
            await TryFinishAsync(queued.JobId, End(JobResult.Cancelled, shutdown ? ShutdownSummary(null) : "Cancelled through the API.") with { ServiceStopping = shutdown }, labels);
        }
        catch (Exception e)
        {
            // One job's trouble (a locked database, a bug) must not stop the dispatcher or the other jobs.
            LogJobCrashed(e, queued.JobId, queued.RunId);
            await TryFinishAsync(queued.JobId, End(JobResult.Error, $"CiRunner could not run the job: {e.Message}"), labels);
        }
        finally
        {
            _running.TryRemove(queued.JobId, out _);
            if (started)
            {
                _telemetry?.JobEnded();
            }
        }
    }

    /// <summary>An end with the cell's attempt limit; <see cref="RetryPolicy"/> decides on the facts the caller adds.</summary>
    private JobEnd End(JobResult result, string summary) => new(result, summary) { MaxAttempts = _service.MaxAttempts };

    private async Task FinishAsync(long jobId, JobEnd end, JobLabels? labels, TimeSpan? duration)
    {
        // The stopping token may be cancelled already; a job's end must still be recorded (with its package snapshot, part of its lockfile).
        JobCompletion? completion = await MarkFinishedDespiteLocksAsync(jobId, end);
        if (completion is not null && labels is not null)
        {
            _telemetry?.JobFinished(labels, end.Result, duration ?? completion.Job.Duration);
        }

        if (completion?.Retry is { } retry)
        {
            _queue.Enqueue(new QueuedJob(retry.RunId, retry.Id, (JobPriority)retry.Priority));
            LogRetried(jobId, retry.RunId, retry.Id, retry.Attempt, _service.MaxAttempts);
        }

        _cellGauge?.Invalidate();
    }

    /// <summary>What a job cancelled by the service's stop says: the stop, and how long the drain let it run.</summary>
    private string ShutdownSummary(string? executorSummary)
    {
        long started = Interlocked.Read(ref _drainStarted);
        string waited = started == 0 ? "" : $", {_timeProvider.GetElapsedTime(started).TotalSeconds:F0} s after the stop began";
        string detail = executorSummary is null ? "" : $" ({executorSummary})";
        return $"Cancelled: the service shut down and the job was still running when the drain time ({DrainKey} {Matrix.Duration.Format(_service.DrainTimeout)}) ran out{waited}; its container was removed{detail}.";
    }

    /// <summary>
    /// A finished job's result is worth waiting for: while another process keeps the database locked (each try waits
    /// <c>Service:DatabaseLockTimeout</c>) or its disk is full, the write is tried again until it goes through or the
    /// service stops, when the job is left running in the store and the next start marks it interrupted.
    /// </summary>
    private async Task<JobCompletion?> MarkFinishedDespiteLocksAsync(long jobId, JobEnd end)
    {
        while (true)
        {
            try
            {
                return await _jobs.MarkFinishedAsync(jobId, end, CancellationToken.None);
            }
            catch (Exception e) when ((e is DatabaseLockedException || ResultsDatabase.IsDiskFull(e)) && !_stopping.IsCancellationRequested)
            {
                LogFinishDeferred(jobId, end.Result, e.Message);
                if (ResultsDatabase.IsDiskFull(e))
                {
                    await Task.Delay(DiskSpaceGuard.DefaultRecheckInterval, CancellationToken.None);
                }
            }
        }
    }

    private async Task TryFinishAsync(long jobId, JobEnd end, JobLabels? labels)
    {
        try
        {
            await FinishAsync(jobId, end, labels, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogJobCrashed(e, jobId, 0);
        }
    }

    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                IReadOnlyList<ReapedContainer> reaped = await _reaper.ReapAsync(_service.InstanceId, cancellationToken);
                LogReaped(reaped.Count, _service.InstanceId);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The engine may be down; its containers are reaped at the next start, and jobs still end below.
                LogReapFailed(e, _service.InstanceId);
            }

            // Interrupted is never the job's fault: each is queued again (below, with the other queued jobs) while attempts are left.
            IReadOnlyList<JobCompletion> interrupted;
            while (true)
            {
                try
                {
                    interrupted = await _jobs.FinishAllRunningAsync(JobResult.Interrupted, InterruptedSummary, _service.MaxAttempts, cancellationToken);
                    break;
                }
                catch (DatabaseLockedException e)
                {
                    // Nothing can start before earlier jobs are closed; the lock ends some time, the service waits for it.
                    LogRecoveryDeferred(e.Message);
                }
            }

            IReadOnlyList<JobRecord> queued = await _jobs.ListByStateAsync(JobState.Queued, cancellationToken);
            foreach (JobRecord job in queued)
            {
                _queue.Enqueue(new QueuedJob(job.RunId, job.Id, (JobPriority)job.Priority));
            }

            LogRecovered(interrupted.Count, queued.Count);
        }
        finally
        {
            _recovered.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} ({Cell}) started on {Image}")]
    private partial void LogJobStarted(long jobId, long runId, string cell, string image);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} ({Cell}) ended: {Result} after {Seconds:F1} s")]
    private partial void LogJobFinished(long jobId, long runId, string cell, JobResult result, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} of run {RunId} could not be run")]
    private partial void LogJobCrashed(Exception exception, long jobId, long runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} containers left by an earlier process of instance '{InstanceId}'")]
    private partial void LogReaped(int count, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for containers left by instance '{InstanceId}' (is the Docker engine running?)")]
    private partial void LogReapFailed(Exception exception, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId} stays queued: its start could not be recorded. {Reason}")]
    private partial void LogStartDeferred(long jobId, long runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended {Result}, but that could not be recorded yet; trying again. {Reason}")]
    private partial void LogFinishDeferred(long jobId, JobResult result, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Start-up recovery waits for the results database. {Reason}")]
    private partial void LogRecoveryDeferred(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovered: {Interrupted} jobs marked interrupted, {Queued} queued jobs queued again")]
    private partial void LogRecovered(int interrupted, int queued);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} is retried as job {RetryJobId} (attempt {Attempt} of {MaxAttempts})")]
    private partial void LogRetried(long jobId, long runId, long retryJobId, int attempt, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: no new jobs start; waiting up to {Seconds:F0} s for {Running} running jobs to finish")]
    private partial void LogDraining(int running, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The drain time of {Seconds:F0} s is over: cancelling {Running} jobs that are still running")]
    private partial void LogDrainOver(int running, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} containers of instance '{InstanceId}' that no running job owns (left when the engine went away)")]
    private partial void LogSwept(int count, string instanceId);
}
