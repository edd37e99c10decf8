namespace CiRunner.Results;

/// <summary>
/// How a job ended, as its caller hands it to <see cref="JobStore.MarkFinishedAsync(long, JobEnd, CancellationToken)"/>:
/// the result and summary, and the facts <see cref="RetryPolicy"/> decides another attempt on. The defaults never
/// retry.
/// </summary>
/// <param name="Result">How it ended.</param>
/// <param name="Summary">Why; a retry adds which job repeats it.</param>
public sealed record JobEnd(JobResult Result, string? Summary)
{
    /// <summary>The executor found the error's cause outside the job (the executor's <c>JobOutcome.TransientCause</c>; Results sits below Execution, so it names it only in prose).</summary>
    public bool TransientCause { get; init; }

    /// <summary>The service's own stop ended the job.</summary>
    public bool ServiceStopping { get; init; }

    /// <summary>The most attempts a cell may have (<c>Service:MaxAttempts</c>); 1 never retries.</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>
    /// How many times a failed or timed-out cell runs again on the same lockfile (<c>Flakes:Reruns</c>; see
    /// <see cref="FlakePolicy"/>); 0, the default, never re-runs.
    /// </summary>
    public int FlakeReruns { get; init; }

    /// <summary>The package snapshot the job's node moved onto (part of its lockfile); null when it used none.</summary>
    public PackageSnapshotInfo? PackageSnapshot { get; init; }

    /// <summary>The phase snapshot the job started from and the ones it made (part of its lockfile).</summary>
    public IReadOnlyList<PhaseSnapshot> PhaseSnapshots { get; init; } = [];

    /// <summary>Whether this end earns the cell another attempt after <paramref name="attempt"/> (see <see cref="RetryPolicy"/>).</summary>
    public bool Retries(int attempt) => RetryPolicy.Retries(Result, TransientCause, ServiceStopping, attempt, MaxAttempts);
}
