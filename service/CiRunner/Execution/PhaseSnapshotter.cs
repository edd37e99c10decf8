using CiRunner.Configuration;
using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>
/// The executor's side of phase snapshots on one engine: before a job's container is created, which snapshot it starts
/// from (the deepest phase before its last that has one) and which of its phases it saves; after a saved phase ends
/// green, the commit, and then the pruning that keeps this instance's snapshots within <c>Snapshots:MaxSizeGb</c>.
/// A snapshot that cannot be made or pruned costs the job nothing but the time spent trying: it is logged and the job goes on.
/// </summary>
public sealed partial class PhaseSnapshotter
{
    private readonly PhaseSnapshotImages _images;
    private readonly SnapshotOptions _options;
    private readonly ILogger _logger;

    public PhaseSnapshotter(PhaseSnapshotImages images, SnapshotOptions options, ILogger logger)
    {
        _images = images;
        _options = options;
        _logger = logger;
    }

    /// <summary>The plan of <paramref name="run"/>'s job; <see cref="PhaseSnapshotPlan.None"/> when its spec has no snapshot policy.</summary>
    /// <param name="run">The job.</param>
    /// <param name="baseImageId">Resolves the release image's id (building it when it is missing).</param>
    /// <param name="cancellationToken">The job's token.</param>
    internal async Task<PhaseSnapshotPlan> PlanAsync(JobRun run, Func<CancellationToken, Task<string>> baseImageId, CancellationToken cancellationToken)
    {
        JobSpec job = run.Job;
        if (job.Snapshots is not { } policy)
        {
            return PhaseSnapshotPlan.None;
        }

        run.Stage = "looking up the job's image for phase snapshots";
        string imageId = await baseImageId(cancellationToken);
        run.Stage = "looking up phase snapshots";
        string?[] keys = job.Phases.Select((_, index) => PhaseSnapshotKey.Compute(job, index, imageId, run.Snapshot?.Id)).ToArray();
        IReadOnlyDictionary<string, PhaseSnapshot> saved = await _images.ByKeyAsync(job.InstanceId, cancellationToken);
        int start = 0;
        PhaseSnapshot? from = null;
        if (policy.Reuse)
        {
            for (int phase = job.Phases.Count - 2; phase >= 0 && from is null; phase--)
            {
                if (keys[phase] is { } key && saved.TryGetValue(key, out PhaseSnapshot? found))
                {
                    // Only the snapshot the job starts from counts as used: pruning keeps the recently used ones.
                    (from, start) = (await _images.UseAsync(found, cancellationToken), phase + 1);
                }
            }
        }

        var save = new Dictionary<int, string>();
        foreach (int phase in policy.Save.Where(p => p >= start && p < keys.Length).Distinct())
        {
            // A phase saved already (by another cell, or an earlier run) is not saved again.
            if (keys[phase] is { } key && !saved.ContainsKey(key))
            {
                save[phase] = key;
            }
        }

        return new PhaseSnapshotPlan(start, from, save, imageId);
    }

    /// <summary>Commits the job's container as the snapshot of the phase at <paramref name="phase"/>, then prunes; null when that failed (logged).</summary>
    internal async Task<PhaseSnapshot?> SaveAsync(JobRun run, int phase, CancellationToken cancellationToken)
    {
        JobSpec job = run.Job;
        if (run.ContainerId is not { } container || !run.Plan.Save.TryGetValue(phase, out string? key) || run.Plan.BaseImageId is not { } baseImageId)
        {
            return null;
        }

        string name = job.Phases[phase].Name;
        long started = Environment.TickCount64;
        PhaseSnapshot made;
        try
        {
            made = await _images.CommitAsync(container, job, name, key, baseImageId, cancellationToken);
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var e && e is DockerApiException or HttpRequestException or IOException or TimeoutException)
        {
            LogSaveFailed(job.RunId, job.JobId, name, e.Message);
            await run.Log!.EventAsync($"phase {name} could not be saved as a snapshot ({e.Message}); the job goes on", cancellationToken);
            return null;
        }

        await run.Log!.EventAsync($"{made.Describe()} in {(Environment.TickCount64 - started) / 1000.0:F1} s", cancellationToken);
        LogSaved(job.RunId, job.JobId, name, made.ImageId);
        try
        {
            IReadOnlyList<string> pruned = await _images.PruneAsync(job.InstanceId, _options.MaxSizeBytes, keep: made.ImageId, cancellationToken);
            if (pruned.Count > 0)
            {
                LogPruned(pruned.Count, _options.MaxSizeGb);
            }
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var e && e is DockerApiException or HttpRequestException or IOException or TimeoutException)
        {
            LogPruneFailed(e.Message);
        }

        return made;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId}: phase {Phase} saved as snapshot {ImageId}")]
    private partial void LogSaved(long runId, long jobId, string phase, string imageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId}: phase {Phase} could not be saved as a snapshot: {Error}")]
    private partial void LogSaveFailed(long runId, long jobId, string phase, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} least recently used phase snapshots to stay within Snapshots:MaxSizeGb ({MaxSizeGb} GB)")]
    private partial void LogPruned(int count, double maxSizeGb);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning phase snapshots failed: {Error}")]
    private partial void LogPruneFailed(string error);
}
