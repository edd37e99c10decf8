namespace CiRunner.Results;

/// <summary>How job results add up: to a run's result, and to a matrix cell's latest verdict.</summary>
public static class ResultPolicy
{
    /// <summary>
    /// The run's result from its jobs' results: the most telling one. A failure outranks everything because it
    /// is the module's fault and what a reviewer must see; infrastructure trouble comes next; a run whose jobs
    /// all passed or were skipped succeeded, and one that ran nothing is skipped.
    /// </summary>
    public static JobResult CombineRun(IEnumerable<JobResult> jobResults)
    {
        ArgumentNullException.ThrowIfNull(jobResults);
        JobResult combined = JobResult.Skipped;
        foreach (JobResult result in jobResults)
        {
            if (Rank(result) > Rank(combined))
            {
                combined = result;
            }
        }

        return combined;
    }

    /// <summary>
    /// Whether a job's result becomes its cell's latest verdict. A skipped, superseded or cancelled job says
    /// nothing about the module, so the cell keeps showing what it showed; a patch set under review is not the
    /// branch, so only runs without a change ref count. Migration 0002 fills the table by the same rule.
    /// </summary>
    public static bool UpdatesCell(JobResult result, string? changeRef) =>
        changeRef is null && result is JobResult.Success or JobResult.Flaky or JobResult.Failure or JobResult.Error or JobResult.Timeout or JobResult.Interrupted;

    private static int Rank(JobResult result) => result switch
    {
        JobResult.Skipped => 0,
        JobResult.Success => 1,

        // Passed, but after a failure on the same commits: a run with a flaky cell says so rather than "success".
        JobResult.Flaky => 2,
        JobResult.Superseded => 3,
        JobResult.Cancelled => 4,
        JobResult.Interrupted => 5,
        JobResult.Error => 6,
        JobResult.Timeout => 7,
        JobResult.Failure => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, "No rank for this result."),
    };
}
