using CiRunner.Execution;
using CiRunner.Results;

namespace CiRunner.Scheduling;

/// <summary>What cancelling a run did.</summary>
/// <param name="Queued">Jobs that had not started and now end as cancelled.</param>
/// <param name="Running">Running jobs whose containers are being killed; they end as cancelled shortly.</param>
public sealed record RunCancellation(IReadOnlyList<long> Queued, IReadOnlyList<long> Running);

/// <summary>Actions on existing work from the API: cancel a run, run one job's cell again.</summary>
public sealed partial class RunControl
{
    private readonly RunStore _runs;
    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly JobDispatcher _dispatcher;
    private readonly ILogger<RunControl> _logger;

    public RunControl(RunStore runs, JobStore jobs, JobQueue queue, JobDispatcher dispatcher, ILogger<RunControl> logger)
    {
        _runs = runs;
        _jobs = jobs;
        _queue = queue;
        _dispatcher = dispatcher;
        _logger = logger;
    }

    /// <summary>Cancels the unfinished jobs of a run; null when the run does not exist.</summary>
    public async Task<RunCancellation?> CancelRunAsync(long runId, string requestedBy, CancellationToken cancellationToken)
    {
        RunDetail? run = await _runs.GetDetailAsync(runId, cancellationToken);
        if (run is null)
        {
            return null;
        }

        var queued = new List<long>();
        var running = new List<long>();
        foreach (JobRecord job in run.Jobs.Where(j => j.State != JobState.Finished))
        {
            // The store first: a dispatcher that dequeues the job meanwhile finds it finished and skips it.
            bool wasQueued = job.State == JobState.Queued
                && await _jobs.MarkFinishedAsync(job.Id, JobResult.Cancelled, $"Cancelled by {requestedBy} before it started.", cancellationToken) is not null;

            // Always asked, queued or not: the dispatcher may have started the job between the read above and now.
            if (_dispatcher.TryCancelRunning(job.Id) && !wasQueued)
            {
                running.Add(job.Id);
            }
            else if (!wasQueued && await _jobs.RequestCancelAsync(job.Id, requestedBy, cancellationToken))
            {
                // Running on another instance sharing the store: it sees the request within a second.
                running.Add(job.Id);
            }
            else if (wasQueued)
            {
                queued.Add(job.Id);
            }
        }

        HashSet<long> removed = [.. queued];
        _queue.RemoveWhere(q => removed.Contains(q.JobId));
        LogRunCancelled(runId, requestedBy, queued.Count, running.Count);
        return new RunCancellation(queued, running);
    }

    /// <summary>
    /// Queues the job's cell again as a new manual run of the same commit (one job, the next attempt); null when
    /// the job does not exist.
    /// </summary>
    public async Task<RunDetail?> RerunJobAsync(long jobId, string requestedBy, CancellationToken cancellationToken)
    {
        JobRecord? job = await _jobs.GetAsync(jobId, cancellationToken);
        RunRecord? run = job is null ? null : await _runs.GetAsync(job.RunId, cancellationToken);
        if (job is null || run is null)
        {
            return null;
        }

        JobPriority priority = JobPriorities.For(RunCause.Manual);
        RunDetail created = await _runs.CreateAsync(
            new NewRun(RunCause.Manual, run.Module, run.Branch, run.CommitSha, run.ChangeRef, run.PatchSet, requestedBy),
            [new NewJob(job.CellKey, job.Kind, job.Release, job.FromRelease, job.Scenario, priority, job.Attempt + 1) { ReplayOf = job.ReplayOf }],
            cancellationToken);
        foreach (JobRecord queued in created.Jobs)
        {
            _queue.Enqueue(QueuedJob.For(queued) with { Priority = priority });
        }

        LogJobRerun(jobId, created.Run.Id, requestedBy);
        return created;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} cancelled by {RequestedBy}: {Queued} queued jobs cancelled, {Running} running jobs being stopped")]
    private partial void LogRunCancelled(long runId, string requestedBy, int queued, int running);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} rerun by {RequestedBy} as run {RunId}")]
    private partial void LogJobRerun(long jobId, long runId, string requestedBy);
}
