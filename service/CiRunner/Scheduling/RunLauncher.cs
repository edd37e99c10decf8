using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Telemetry;

namespace CiRunner.Scheduling;

/// <summary>The path from a trigger to queued work: expand the matrix, store the run and its jobs, queue them.</summary>
public sealed partial class RunLauncher
{
    private readonly CiRunnerSettings _settings;
    private readonly RunStore _runs;
    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly ILogger<RunLauncher> _logger;
    private readonly CiRunnerTelemetry _telemetry;

    private readonly ScenarioCatalog _scenarios;

    /// <param name="settings">Modules, releases and matrix rules.</param>
    /// <param name="runs">Where runs are stored.</param>
    /// <param name="jobs">Where jobs are stored (and superseded).</param>
    /// <param name="queue">Where new jobs are queued.</param>
    /// <param name="logger">Run creation is logged here.</param>
    /// <param name="telemetry">Counts created runs.</param>
    /// <param name="scenarios">The service's live scenarios, re-checked before each run.</param>
    public RunLauncher(CiRunnerSettings settings, RunStore runs, JobStore jobs, JobQueue queue, ILogger<RunLauncher> logger, CiRunnerTelemetry telemetry, ScenarioCatalog scenarios)
    {
        _scenarios = scenarios;
        _telemetry = telemetry;
        _settings = settings;
        _runs = runs;
        _jobs = jobs;
        _queue = queue;
        _logger = logger;
    }

    /// <summary>
    /// Creates the run for <paramref name="trigger"/>; a trigger that matches no cell still gets a run, ended as
    /// skipped. A new branch head supersedes the jobs of earlier runs on that branch that have not started yet, and
    /// a new patch set those of the change's earlier patch sets.
    /// </summary>
    /// <exception cref="HeadAlreadyStartedException">Another instance already started the run for the trigger's head; nothing was queued.</exception>
    public async Task<RunDetail> StartAsync(RunTrigger trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        TrackedModule module = _settings.FindModule(trigger.Module)
            ?? throw new ArgumentException($"Module '{trigger.Module}' is not configured (Modules).", nameof(trigger));

        JobPriority priority = JobPriorities.For(trigger.Cause);
        // A missed file event costs nothing: the directory is compared with what was loaded before every run.
        IReadOnlyList<Scenario> scenarios = _scenarios.Refresh().Scenarios;
        IReadOnlyList<Cell> cells = CellExpansion.Expand(module, trigger.Branch, _settings.Releases, scenarios, _settings.Matrix);
        List<NewJob> jobs = cells
            .Select(cell => new NewJob(cell.Key, cell.Kind, cell.Release, cell.FromRelease, cell.Scenario, priority))
            .ToList();

        using System.Diagnostics.Activity? root = CiRunnerTelemetry.StartRun(_settings.Service.InstanceId, trigger.Module, trigger.Branch, trigger.Cause);
        RunDetail run = await _runs.CreateAsync(
            new NewRun(trigger.Cause, trigger.Module, trigger.Branch, trigger.CommitSha, trigger.ChangeRef, PatchSetNumber(trigger.ChangeRef), trigger.RequestedBy, trigger.HeadRef)
            {
                TraceParent = root?.Id,
                SeenGeneration = trigger.SeenGeneration,
            },
            jobs,
            cancellationToken);
        foreach (JobRecord job in run.Jobs)
        {
            _queue.Enqueue(QueuedJob.For(job) with { Priority = priority });
        }

        _telemetry.RunCreated(trigger.Module, trigger.Cause);
        root?.SetTag("cirunner.run.id", run.Run.Id);
        root?.SetTag("cirunner.commit", trigger.CommitSha);
        root?.SetTag("cirunner.jobs", run.Jobs.Count);
        root?.Stop();

        LogRunCreated(run.Run.Id, trigger.Cause, trigger.Module, trigger.Branch, trigger.CommitSha, run.Jobs.Count);
        if (trigger.Cause == RunCause.Commit && trigger.ChangeRef is null)
        {
            Supersede(await _jobs.SupersedeQueuedAsync(trigger.Module, trigger.Branch, run.Run.Id, cancellationToken), trigger, run.Run.Id);
        }
        else if (trigger.Cause is RunCause.PatchSet or RunCause.Recheck && ChangePrefix(trigger.ChangeRef) is { } prefix)
        {
            Supersede(await _jobs.SupersedeQueuedPatchSetsAsync(trigger.Module, prefix, run.Run.Id, cancellationToken), trigger, run.Run.Id);
        }

        return run;
    }

    /// <summary>3 of <c>refs/changes/45/12345/3</c>; null for anything else.</summary>
    private static int? PatchSetNumber(string? changeRef)
    {
        int lastSlash = changeRef?.LastIndexOf('/') ?? -1;
        return lastSlash > 0 && int.TryParse(changeRef!.AsSpan(lastSlash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number)
            ? number
            : null;
    }

    /// <summary><c>refs/changes/45/12345/</c> of <c>refs/changes/45/12345/3</c>: what all patch sets of the change share.</summary>
    private static string? ChangePrefix(string? changeRef)
    {
        int lastSlash = changeRef?.LastIndexOf('/') ?? -1;
        return lastSlash > 0 ? changeRef![..(lastSlash + 1)] : null;
    }

    /// <remarks>
    /// The store was written first: a dispatcher that dequeued one of these jobs in between finds it no longer
    /// queued (MarkStartedAsync returns false) and skips it, so the order cannot start superseded work.
    /// </remarks>
    private void Supersede(IReadOnlyList<JobCompletion> superseded, RunTrigger trigger, long newerRunId)
    {
        if (superseded.Count == 0)
        {
            return;
        }

        var ids = superseded.Select(c => c.Job.Id).ToHashSet();
        _queue.RemoveWhere(job => ids.Contains(job.JobId));
        LogSuperseded(superseded.Count, trigger.Module, trigger.ChangeRef ?? trigger.Branch, newerRunId);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{JobCount} queued jobs of earlier runs of {Module} {Target} superseded by run {RunId}")]
    private partial void LogSuperseded(int jobCount, string module, string target, long runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} ({Cause}) for {Module} {Branch} at {Commit}: {JobCount} jobs queued")]
    private partial void LogRunCreated(long runId, RunCause cause, string module, string branch, string commit, int jobCount);
}
