using CiRunner.Results;
using CiRunner.Telemetry;
using Polly;

namespace CiRunner.Execution;

/// <summary>
/// Records a job's end, whatever it takes: while another process keeps the database locked (each try waits
/// <c>Service:DatabaseLockTimeout</c>) or its disk is full, the write is tried again until it goes through or the
/// service stops, when the job is left running in the store and the next start marks it interrupted. Then it counts
/// the end, queues the cell's next attempt when <see cref="RetryPolicy"/> granted one (or a bisect's next step), wakes the
/// bisect starter when the cell turned red, and refreshes the cell gauge.
/// </summary>
public sealed partial class JobCompletionWriter
{
    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly CiRunnerTelemetry _telemetry;
    private readonly CellResultGauge _cellGauge;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<JobCompletionWriter> _logger;
    private readonly BisectSignal _bisects;

    public JobCompletionWriter(
        JobStore jobs, JobQueue queue, CiRunnerTelemetry telemetry, CellResultGauge cellGauge, TimeProvider timeProvider, ILogger<JobCompletionWriter> logger, BisectSignal bisects)
    {
        _bisects = bisects;
        _jobs = jobs;
        _queue = queue;
        _telemetry = telemetry;
        _cellGauge = cellGauge;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Records the end; see the type.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="end">How it ended, with what <see cref="RetryPolicy"/> needs.</param>
    /// <param name="labels">The job's metric labels; null when it ended before they were known (then it is not counted).</param>
    /// <param name="duration">The executor's wall time; null for the time the store measured.</param>
    /// <param name="stoppingToken">Once cancelled, a locked database or a full disk is no longer waited out.</param>
    public async Task FinishAsync(long jobId, JobEnd end, JobLabels? labels, TimeSpan? duration, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(end);
        JobCompletion? completion = await MarkFinishedDespiteLocksAsync(jobId, end, stoppingToken);
        if (completion is not null && labels is not null)
        {
            // The stored result: a re-run that passed is counted as flaky, not as success.
            _telemetry.JobFinished(labels, completion.Job.Result ?? end.Result, duration ?? completion.Job.Duration);
        }

        if (completion?.Retry is { } retry)
        {
            _queue.Enqueue(QueuedJob.For(retry));
            if (retry.RerunOf is not null)
            {
                LogRerun(jobId, retry.RunId, retry.Id, completion.Job.FailureSignature);
            }
            else
            {
                LogRetried(jobId, retry.RunId, retry.Id, retry.Attempt, end.MaxAttempts);
            }
        }

        if (completion?.BisectStep is { } step)
        {
            _queue.Enqueue(QueuedJob.For(step));
        }

        if (completion?.BisectEnded is { } ended)
        {
            LogBisectEnded(ended.Id, ended.RunId, ended.Verdict, ended.TargetModule, ended.CulpritSha, ended.Summary);
        }

        if (completion?.BisectRequested == true)
        {
            _bisects.Raise();
        }

        _cellGauge.Invalidate();
    }

    /// <summary>Like <see cref="FinishAsync"/>, logging rather than throwing when the end cannot be recorded.</summary>
    public async Task TryFinishAsync(long jobId, JobEnd end, JobLabels? labels, CancellationToken stoppingToken)
    {
        try
        {
            await FinishAsync(jobId, end, labels, duration: null, stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFinishFailed(e, jobId, 0);
        }
    }

    private async Task<JobCompletion?> MarkFinishedDespiteLocksAsync(long jobId, JobEnd end, CancellationToken stoppingToken)
    {
        ResiliencePipeline untilStored = DatabaseLockRetry.UntilStored(
            _jobs.IsDiskFull,
            _timeProvider,
            e => (e is DatabaseLockedException || _jobs.IsDiskFull(e) || _jobs.IsUnavailable(e)) && !stoppingToken.IsCancellationRequested,
            DiskSpaceGuard.DefaultRecheckInterval,
            e => LogFinishDeferred(jobId, end.Result, e.Message));

        // The stopping token may be cancelled already; a job's end must still be recorded (with its package snapshot, part of its lockfile).
        return await untilStored.ExecuteAsync(
            async token => await _jobs.MarkFinishedAsync(jobId, end, token),
            CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} of run {RunId} could not be run")]
    private partial void LogFinishFailed(Exception exception, long jobId, long runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended {Result}, but that could not be recorded yet; trying again. {Reason}")]
    private partial void LogFinishDeferred(long jobId, JobResult result, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bisect {BisectId} (run {RunId}) of {Module} ended {Verdict}: first bad commit {Culprit}; {Summary}")]
    private partial void LogBisectEnded(long bisectId, long runId, BisectVerdict? verdict, string module, string? culprit, string? summary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} failed ({Signature}); it runs again on the same lockfile as job {RerunJobId}, to tell a flake from a failure")]
    private partial void LogRerun(long jobId, long runId, long rerunJobId, string? signature);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} is retried as job {RetryJobId} (attempt {Attempt} of {MaxAttempts})")]
    private partial void LogRetried(long jobId, long runId, long retryJobId, int attempt, int maxAttempts);
}
