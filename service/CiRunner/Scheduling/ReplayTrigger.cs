using CiRunner.Execution;
using CiRunner.Results;

namespace CiRunner.Scheduling;

/// <summary>A replay queued, or why none was (the message says what to do).</summary>
/// <param name="Run">The replay's run (cause <c>replay</c>, one job) when it was created.</param>
/// <param name="Refusal">Why not, when it was not.</param>
/// <param name="Message">One line for the user when refused.</param>
public sealed record ReplayOutcome(RunDetail? Run, ReplayRefusal? Refusal, string? Message);

public enum ReplayRefusal
{
    /// <summary>No job has that id.</summary>
    NotFound,

    /// <summary>The job has no complete lockfile, or never started a container.</summary>
    NoLockfile,
}

/// <summary>
/// Queues a replay of one job: a run with cause <c>replay</c> of the same module, branch and commit, with one job of
/// the same cell whose <c>replay_of</c> names the original. The job's spec then comes from the original's lockfile
/// alone (<see cref="JobSpecFactory.Replay"/>), never from today's configuration or scenarios. A bisect step is the
/// same with one module's commit changed.
/// </summary>
public sealed partial class ReplayTrigger
{
    private readonly RunStore _runs;
    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly ILogger<ReplayTrigger> _logger;

    public ReplayTrigger(RunStore runs, JobStore jobs, JobQueue queue, ILogger<ReplayTrigger> logger)
    {
        _runs = runs;
        _jobs = jobs;
        _queue = queue;
        _logger = logger;
    }

    /// <summary>Creates the replay's run and queues its job for the dispatcher.</summary>
    public async Task<ReplayOutcome> StartAsync(long jobId, string requestedBy, CancellationToken cancellationToken)
    {
        ReplayOutcome outcome = await CreateRunAsync(_runs, _jobs, jobId, requestedBy, cancellationToken);
        if (outcome.Run is { } created)
        {
            foreach (JobRecord queued in created.Jobs)
            {
                _queue.Enqueue(QueuedJob.For(queued));
            }

            LogReplayQueued(jobId, created.Run.Id, requestedBy);
        }

        return outcome;
    }

    /// <summary>Creates the replay's run without queueing it: <c>cirunner replay</c> runs it in the foreground.</summary>
    public static async Task<ReplayOutcome> CreateRunAsync(RunStore runs, JobStore jobs, long jobId, string? requestedBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(jobs);
        JobRecord? job = await jobs.GetAsync(jobId, cancellationToken);
        RunRecord? run = job is null ? null : await runs.GetAsync(job.RunId, cancellationToken);
        if (job is null || run is null)
        {
            return new ReplayOutcome(null, ReplayRefusal.NotFound, $"Job {jobId} does not exist; see cirunner runs and cirunner show RUN-ID for job ids.");
        }

        JobLockfile? lockfile = await jobs.GetLockfileAsync(jobId, cancellationToken);
        if (lockfile is null)
        {
            return new ReplayOutcome(null, ReplayRefusal.NoLockfile, JobSpecFactory.NoLockfile(jobId));
        }

        if (lockfile.ImageId is null)
        {
            return new ReplayOutcome(null, ReplayRefusal.NoLockfile, JobSpecFactory.NeverStarted(jobId));
        }

        // No change ref: a replay of a patch set's job is not a new verdict on the change, so nothing reports it to Gerrit.
        JobPriority priority = JobPriorities.For(RunCause.Replay);
        RunDetail created = await runs.CreateAsync(
            new NewRun(RunCause.Replay, run.Module, run.Branch, run.CommitSha, RequestedBy: requestedBy),
            [new NewJob(job.CellKey, job.Kind, job.Release, job.FromRelease, job.Scenario, priority) { ReplayOf = jobId }],
            cancellationToken);
        return new ReplayOutcome(created, null, null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} replayed by {RequestedBy} as run {RunId}")]
    private partial void LogReplayQueued(long jobId, long runId, string requestedBy);
}
