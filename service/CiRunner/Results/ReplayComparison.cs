namespace CiRunner.Results;

/// <summary>
/// Whether a replay reproduced its original: the same result, or not. Only results are compared: durations and log
/// lines differ between any two runs.
/// </summary>
/// <param name="OriginalJobId">The job replayed.</param>
/// <param name="OriginalResult">Its result; null while it has none.</param>
/// <param name="Result">The replay's result; null while it runs.</param>
public sealed record ReplayComparison(long OriginalJobId, JobResult? OriginalResult, JobResult? Result)
{
    /// <summary>True when both ended alike, false when not, null while either has no result.</summary>
    public bool? Matches => OriginalResult is { } original && Result is { } result ? original == result : null;

    /// <summary>The comparison of <paramref name="replay"/> with <paramref name="original"/>; null when the job is no replay.</summary>
    public static ReplayComparison? Of(JobRecord replay, JobRecord? original)
    {
        ArgumentNullException.ThrowIfNull(replay);
        return replay.ReplayOf is { } originalId ? new ReplayComparison(originalId, original?.Result, replay.Result) : null;
    }

    /// <summary>How <c>replay</c>, <c>show</c> and the job page say it: <c>matches: failure, as job 12</c>.</summary>
    public override string ToString() => Matches switch
    {
        true => $"matches: {Result!.Value.ToWire()}, as job {OriginalJobId}",
        false => $"differs: {Result!.Value.ToWire()}, where job {OriginalJobId} ended {OriginalResult!.Value.ToWire()}",
        null => Result is null ? $"replay of job {OriginalJobId}: not finished" : $"replay of job {OriginalJobId}, which has no result",
    };
}
