namespace CiRunner.Results;

/// <summary>
/// Whether a failed cell runs again on the same lockfile to tell a flake from a failure, and what that makes of its
/// result: the one place that decides it, like <see cref="RetryPolicy"/> for infrastructure errors. The store asks
/// here inside the transaction that finishes the job, so the re-run is queued before the run can finish and be
/// reported.
/// </summary>
public static class FlakePolicy
{
    /// <summary>
    /// A failure or timeout of a matrix cell runs again while the cell has re-runs left. A replay or a bisect step
    /// re-runs a past lockfile on purpose and keeps whatever it finds (the bisect retries its midpoints itself).
    /// </summary>
    /// <param name="result">How the job ended.</param>
    /// <param name="cause">Why its run was made.</param>
    /// <param name="replayOf">The job it replays, when it is a replay.</param>
    /// <param name="rerunsSoFar">How many re-runs the cell already had in this run.</param>
    /// <param name="maxReruns"><c>Flakes:Reruns</c>.</param>
    public static bool Reruns(JobResult result, RunCause cause, long? replayOf, int rerunsSoFar, int maxReruns) =>
        rerunsSoFar < maxReruns
        && result is JobResult.Failure or JobResult.Timeout
        && replayOf is null
        && cause is not (RunCause.Replay or RunCause.Bisect);

    /// <summary>The result of a re-run that ended <paramref name="result"/>: a pass after a failure on the same lockfile is flaky.</summary>
    public static JobResult ResultOfRerun(JobResult result) => result == JobResult.Success ? JobResult.Flaky : result;

    /// <summary>The line a re-run job's failed attempt's summary ends with.</summary>
    public static string RerunNote(long rerunJobId, int attempt) =>
        $"Re-run as job {rerunJobId} (attempt {attempt}) on the same lockfile, to tell a flake from a failure (Flakes:Reruns).";

    /// <summary>The first line of a flaky job's summary: the failure that came first, and that the same commits then passed.</summary>
    public static string FlakyNote(long failedJobId, string? signature) =>
        $"flaky: job {failedJobId} failed ({signature ?? "no signature"}), then this re-run on the same lockfile passed.";
}
