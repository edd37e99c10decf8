using CiRunner.Results;

namespace CiRunner.Web;

/// <summary>The answer to <c>GET /api/jobs/{id}/lockfile</c>: everything the job ran with, as a replay uses it.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Scenario">Its scenario's name.</param>
/// <param name="Image">The image reference it asked for (a release image's tag).</param>
/// <param name="ImageId">The engine's id of that image when it ran: what a replay runs.</param>
/// <param name="ImageRelease">The release of that image; null for other images.</param>
/// <param name="NetworkMode">Its container's network.</param>
/// <param name="Init"><c>none</c> or <c>systemd</c>: what ran as PID 1.</param>
/// <param name="PackageSnapshot">The package snapshot its node moved onto; null for none.</param>
/// <param name="Modules">Every module's commit, per phase.</param>
/// <param name="Phases">Each phase's manifest and steps as run.</param>
/// <param name="Files">The scenario's files with their text and hash.</param>
/// <param name="Replay">For a replay: the job replayed and whether the result matches; null for any other job.</param>
public sealed record LockfileBody(
    long JobId,
    string Scenario,
    string Image,
    string? ImageId,
    string? ImageRelease,
    string NetworkMode,
    string Init,
    JobPackageSnapshotRecord? PackageSnapshot,
    IReadOnlyList<JobModuleRecord> Modules,
    IReadOnlyList<LockfilePhaseBody> Phases,
    IReadOnlyList<ScenarioText> Files,
    ReplayBody? Replay)
{
    public static LockfileBody From(long jobId, JobLockfile lockfile, ReplayComparison? replay)
    {
        ArgumentNullException.ThrowIfNull(lockfile);
        return new LockfileBody(
            jobId,
            lockfile.Scenario,
            lockfile.Image,
            lockfile.ImageId,
            lockfile.ImageRelease,
            lockfile.NetworkMode,
            lockfile.Init.ToString().ToLowerInvariant(),
            lockfile.PackageSnapshot,
            lockfile.Modules,
            lockfile.Phases.Select(p => new LockfilePhaseBody(
                p.Name, p.Manifest, p.Steps.Select(s => new LockfileStepBody(s.Kind, s.Name, s.Command, s.Timeout.TotalSeconds)).ToList())).ToList(),
            lockfile.Files,
            replay is null ? null : new ReplayBody(replay.OriginalJobId, replay.OriginalResult, replay.Matches));
    }
}

/// <summary>One phase in <see cref="LockfileBody"/>.</summary>
public sealed record LockfilePhaseBody(string Name, string? Manifest, IReadOnlyList<LockfileStepBody> Steps);

/// <summary>One step as run: its kind, name, command and timeout in seconds.</summary>
public sealed record LockfileStepBody(StepKind Kind, string Name, IReadOnlyList<string> Command, double TimeoutSeconds);

/// <summary>A replay's link to its original: <c>matches</c> is null until both have a result.</summary>
public sealed record ReplayBody(long Of, JobResult? OriginalResult, bool? Matches);

/// <summary>The answer to <c>POST /api/jobs/{id}/replay</c>: the replay's run and job.</summary>
public sealed record ReplayCreatedBody(long RunId, long JobId, long ReplayOf);
