
namespace CiRunner.Results;

/// <summary>
/// Whether a job's end earns its cell another attempt: the one place that decides it. The dispatcher, start-up
/// recovery and <c>cirunner run</c> say how a job ended (<see cref="JobEnd"/>); the store asks here, inside the
/// transaction that finishes the job, and queues the next attempt when the answer is yes.
/// </summary>
public static class RetryPolicy
{
    /// <summary>
    /// Only an end that says nothing about the module is retried, and only while the cell has attempts left.
    /// </summary>
    /// <param name="result">How the job ended.</param>
    /// <param name="transientCause">The executor found the error's cause outside the job (the engine went away, the container was killed from outside): another attempt need not meet it.</param>
    /// <param name="serviceStopping">The service's own stop ended the job (not a person through the API).</param>
    /// <param name="attempt">The job's attempt, 1 for the cell's first.</param>
    /// <param name="maxAttempts">The most attempts a cell may have (<c>Service:MaxAttempts</c>); 1 never retries.</param>
    public static bool Retries(JobResult result, bool transientCause, bool serviceStopping, int attempt, int maxAttempts) =>
        attempt < maxAttempts && result switch
        {
            // An error the infrastructure caused; a deterministic one (no image, a broken module set) would recur.
            JobResult.Error => transientCause,

            // The service's doing: the next attempt waits in the database and runs after the next start. A
            // cancel through the API is a person's word and stands.
            JobResult.Cancelled => serviceStopping,

            // The process died while the job ran: never the job's fault.
            JobResult.Interrupted => true,
            _ => false,
        };

    /// <summary>The line a retried job's summary ends with.</summary>
    public static string RetriedNote(long retryJobId, int attempt, int maxAttempts) =>
        $"Retried as job {retryJobId} (attempt {attempt} of {maxAttempts}).";
}
