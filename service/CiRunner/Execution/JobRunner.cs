using System.Diagnostics;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Telemetry;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// One queued job's life in the dispatcher: marked started, its lockfile recorded, run by the executor with its
/// progress written as it goes, and its end recorded through <see cref="JobCompletionWriter"/>. Whatever goes wrong
/// ends the job (or leaves it queued when its start could not be recorded), never the dispatcher.
/// </summary>
public sealed partial class JobRunner
{
    private const string DrainKey = "Service:DrainTimeout";

    private readonly JobStore _jobs;
    private readonly RunStore _runs;
    private readonly JobProgressStore _progress;
    private readonly JobSpecFactory _specs;
    private readonly JobRecorder _recorder;
    private readonly JobCompletionWriter _completions;
    private readonly RunningJobs _running;
    private readonly JobQueue _queue;
    private readonly CiRunnerTelemetry _telemetry;
    private readonly ServiceOptions _service;
    private readonly FlakeOptions _flakes;
    private readonly ILogger<JobRunner> _logger;

    public JobRunner(
        JobStore jobs,
        RunStore runs,
        JobProgressStore progress,
        JobSpecFactory specs,
        JobRecorder recorder,
        JobCompletionWriter completions,
        RunningJobs running,
        JobQueue queue,
        CiRunnerTelemetry telemetry,
        IOptions<ServiceOptions> service,
        IOptions<FlakeOptions> flakes,
        ILogger<JobRunner> logger)
    {
        _jobs = jobs;
        _runs = runs;
        _progress = progress;
        _specs = specs;
        _recorder = recorder;
        _completions = completions;
        _running = running;
        _queue = queue;
        _telemetry = telemetry;
        _service = service.Value;
        _flakes = flakes.Value;
        _logger = logger;
    }

    /// <summary>Runs the job to its recorded end.</summary>
    /// <param name="queued">The job, as the queue handed it out.</param>
    /// <param name="engine">The engine it runs on, where it holds a slot.</param>
    /// <param name="stoppingToken">The service's stop, once the drain is over: it cancels the job.</param>
    public async Task RunAsync(QueuedJob queued, JobEngine engine, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        using IDisposable? scope = _logger.BeginScope(new Dictionary<string, object>(StringComparer.Ordinal) { ["RunId"] = queued.RunId, ["JobId"] = queued.JobId, ["Engine"] = engine.Name });
        if (_running.TryAdd(queued.JobId, engine.Name, stoppingToken) is not { } added)
        {
            // Already running here: the shared queue's feed offered it again between its take and its recorded start.
            // Going on would take its registration (its cancellation, its engine) from the run that owns it.
            return;
        }

        using CancellationTokenSource cancellation = added;
        JobLabels? labels = null;
        bool started = false;
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
            activity?.SetTag("cirunner.engine", engine.Name);

            JobSpec spec;
            JobLockfile lockfile;
            try
            {
                (spec, lockfile) = await _specs.ForJobAsync(run, job, _jobs, null, stoppingToken);
            }
            catch (ModuleSetException e)
            {
                if (await _jobs.MarkStartedAsync(job.Id, null, null, _service.InstanceId, engine.Name, stoppingToken))
                {
                    await _completions.FinishAsync(job.Id, End(JobResult.Error, e.Message), labels, TimeSpan.Zero, stoppingToken);
                }

                return;
            }

            if (!await _jobs.MarkStartedAsync(job.Id, null, spec.LogFilePath, _service.InstanceId, engine.Name, stoppingToken))
            {
                // Superseded or cancelled while it waited.
                return;
            }

            started = true;
            _telemetry.JobStarted();
            await _progress.RecordLockfileAsync(job.Id, lockfile, stoppingToken);
            LogJobStarted(job.Id, run.Id, job.CellKey, spec.Image, engine.Name);
            var progress = new TelemetryJobProgress(_recorder, _telemetry, labels, activity?.Context ?? default);
            JobOutcome outcome = await engine.Executor.ExecuteAsync(spec, progress, cancellation.Token);
            bool stopping = stoppingToken.IsCancellationRequested;
            if (outcome.Result == JobResult.Cancelled && !stopping && _running.EngineLostCause(job.Id) is { } lost)
            {
                // The pool took it off an engine that stopped answering: the engine's failure, retried elsewhere.
                outcome = outcome with { Result = JobResult.Error, Summary = $"error: {lost}; the job was ended so that it runs on an engine that answers", TransientCause = lost };
            }

            string summary = outcome.Result != JobResult.Cancelled ? outcome.Summary
                : stopping ? ShutdownSummary(outcome.Summary)
                : $"Cancelled through the API ({outcome.Summary}).";
            if (outcome.TransientCause is { } cause)
            {
                engine.LetJobDown(cause);
            }

            // A job the service's own stop cancelled is the service's doing, like a transient error (RetryPolicy):
            // its next attempt waits in the database and runs after the next start.
            JobEnd end = End(outcome.Result, summary) with
            {
                TransientCause = outcome.TransientCause is not null,
                ServiceStopping = stopping,
                PackageSnapshot = outcome.PackageSnapshot,
                PhaseSnapshots = outcome.PhaseSnapshots,
            };
            await _completions.FinishAsync(job.Id, end, labels, outcome.Duration, stoppingToken);
            activity?.SetTag("cirunner.job.result", outcome.Result.ToWire());
            if (outcome.Result != JobResult.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome.Result.ToWire());
            }

            LogJobFinished(job.Id, run.Id, job.CellKey, outcome.Result, outcome.Duration.TotalSeconds);
        }
        catch (Exception e) when (!started && (e is DatabaseLockedException || _jobs.IsUnavailable(e)) && !stoppingToken.IsCancellationRequested)
        {
            // Its start could not be recorded, so it never started: it stays queued in the store, and here too. A
            // server that does not answer refuses at once, so the slot waits a little before the next job tries.
            LogStartDeferred(queued.JobId, queued.RunId, e.Message);
            if (e is not DatabaseLockedException)
            {
                await PauseAsync(stoppingToken);
            }

            _queue.Enqueue(queued);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            bool shutdown = stoppingToken.IsCancellationRequested;
            JobEnd end = !shutdown && _running.EngineLostCause(queued.JobId) is { } lost
                ? End(JobResult.Error, $"error: {lost}; the job was ended so that it runs on an engine that answers") with { TransientCause = true }
                : End(JobResult.Cancelled, shutdown ? ShutdownSummary(null) : "Cancelled through the API.") with { ServiceStopping = shutdown };
            await _completions.TryFinishAsync(queued.JobId, end, labels, stoppingToken);
        }
        catch (Exception e)
        {
            // One job's trouble (a locked database, a bug) must not stop the dispatcher or the other jobs.
            LogJobCrashed(e, queued.JobId, queued.RunId);
            await _completions.TryFinishAsync(queued.JobId, End(JobResult.Error, $"CiRunner could not run the job: {e.Message}"), labels, stoppingToken);
        }
        finally
        {
            _running.Remove(queued.JobId);
            if (started)
            {
                _telemetry.JobEnded();
            }
        }
    }

    /// <summary>The wait before a slot tries the next job after the database server did not answer.</summary>
    private static async Task PauseAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(DatabaseLockRetry.UnavailablePause, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the job stays queued in the store for the next start.
        }
    }

    /// <summary>An end with the cell's attempt and re-run limits; <see cref="RetryPolicy"/> and <see cref="FlakePolicy"/> decide on the facts the caller adds.</summary>
    private JobEnd End(JobResult result, string summary) => new(result, summary) { MaxAttempts = _service.MaxAttempts, FlakeReruns = _flakes.Reruns };

    /// <summary>What a job cancelled by the service's stop says: the stop, and how long the drain let it run.</summary>
    private string ShutdownSummary(string? executorSummary)
    {
        string waited = _running.SinceDrainBegan is { } since ? $", {since.TotalSeconds:F0} s after the stop began" : "";
        string detail = executorSummary is null ? "" : $" ({executorSummary})";
        return $"Cancelled: the service shut down and the job was still running when the drain time ({DrainKey} {Matrix.Duration.Format(_service.DrainTimeout)}) ran out{waited}; its container was removed{detail}.";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} ({Cell}) started on {Image} on engine {Engine}")]
    private partial void LogJobStarted(long jobId, long runId, string cell, string image, string engine);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} ({Cell}) ended: {Result} after {Seconds:F1} s")]
    private partial void LogJobFinished(long jobId, long runId, string cell, JobResult result, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} of run {RunId} could not be run")]
    private partial void LogJobCrashed(Exception exception, long jobId, long runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId} stays queued: its start could not be recorded. {Reason}")]
    private partial void LogStartDeferred(long jobId, long runId, string reason);
}
