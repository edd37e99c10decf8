using System.Collections.Concurrent;
using System.Diagnostics;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Telemetry;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// Takes jobs from the queue and runs up to <c>Docker:ParallelJobs</c> of them at once. At start it recovers what
/// an earlier process of this instance left: containers are reaped, jobs that were running end as interrupted,
/// and jobs still queued in the database are queued again.
/// </summary>
public sealed partial class JobDispatcher : BackgroundService
{
    private const string InterruptedSummary = "The service stopped while this job ran; its container was removed when the service started again.";

    private readonly JobQueue _queue;
    private readonly JobStore _jobs;
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

    /// <summary>The cancellation of each running job, so the API can cancel one job without stopping the others.</summary>
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();

    public JobDispatcher(
        JobQueue queue,
        JobStore jobs,
        RunStore runs,
        JobSpecFactory specs,
        IJobExecutor executor,
        JobRecorder recorder,
        OrphanReaper reaper,
        IOptions<ServiceOptions> service,
        IOptions<DockerOptions> docker,
        ILogger<JobDispatcher> logger,
        CiRunnerTelemetry? telemetry = null,
        CellResultGauge? cellGauge = null)
    {
        _telemetry = telemetry;
        _cellGauge = cellGauge;
        _queue = queue;
        _jobs = jobs;
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
        await RecoverAsync(stoppingToken);

        using var slots = new SemaphoreSlim(_docker.ParallelJobs);
        var running = new List<Task>();
        try
        {
            while (true)
            {
                await slots.WaitAsync(stoppingToken);
                QueuedJob next;
                try
                {
                    next = await _queue.DequeueAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    slots.Release();
                    throw;
                }

                running.RemoveAll(task => task.IsCompleted);
                running.Add(RunThenReleaseAsync(next, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: running jobs see the same token, end as cancelled and remove their containers.
        }

        await Task.WhenAll(running);
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
                    await FinishAsync(job.Id, JobResult.Error, e.Message, labels, TimeSpan.Zero);
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
            await _jobs.RecordModulesAsync(job.Id, lockfile, stoppingToken);
            LogJobStarted(job.Id, run.Id, job.CellKey, spec.Image);
            IJobProgress progress = _telemetry is null
                ? _recorder
                : new TelemetryJobProgress(_recorder, _telemetry, labels, activity?.Context ?? default);
            JobOutcome outcome = await _executor.ExecuteAsync(spec, progress, cancellation.Token);
            string summary = outcome.Result == JobResult.Cancelled && !stoppingToken.IsCancellationRequested
                ? $"Cancelled through the API ({outcome.Summary})."
                : outcome.Summary;
            await FinishAsync(job.Id, outcome.Result, summary, labels, outcome.Duration);
            activity?.SetTag("cirunner.job.result", CiRunnerTelemetry.ResultName(outcome.Result));
            if (outcome.Result != JobResult.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome.Result.ToString());
            }

            LogJobFinished(job.Id, run.Id, job.CellKey, outcome.Result, outcome.Duration.TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            string summary = stoppingToken.IsCancellationRequested ? "Cancelled: the service stopped before the job ended." : "Cancelled through the API.";
            await TryFinishAsync(queued.JobId, summary, labels, JobResult.Cancelled);
        }
        catch (Exception e)
        {
            // One job's trouble (a locked database, a bug) must not stop the dispatcher or the other jobs.
            LogJobCrashed(e, queued.JobId, queued.RunId);
            await TryFinishAsync(queued.JobId, $"CiRunner could not run the job: {e.Message}", labels);
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

    private async Task FinishAsync(long jobId, JobResult result, string summary, JobLabels? labels, TimeSpan? duration)
    {
        // The stopping token may be cancelled already; a job's end must still be recorded.
        JobCompletion? completion = await _jobs.MarkFinishedAsync(jobId, result, summary, CancellationToken.None);
        if (completion is not null && labels is not null)
        {
            _telemetry?.JobFinished(labels, result, duration ?? completion.Job.Duration);
        }

        _cellGauge?.Invalidate();
    }

    private async Task TryFinishAsync(long jobId, string summary, JobLabels? labels, JobResult result = JobResult.Error)
    {
        try
        {
            await FinishAsync(jobId, result, summary, labels, null);
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

            IReadOnlyList<JobCompletion> interrupted = await _jobs.FinishAllRunningAsync(JobResult.Interrupted, InterruptedSummary, cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovered: {Interrupted} jobs marked interrupted, {Queued} queued jobs queued again")]
    private partial void LogRecovered(int interrupted, int queued);
}
