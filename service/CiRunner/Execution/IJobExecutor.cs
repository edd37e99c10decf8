namespace CiRunner.Execution;

/// <summary>Runs one job to its end and says how it ended. Expected outcomes (failure, timeout, cancelled, error) are values.</summary>
public interface IJobExecutor
{
    /// <summary>
    /// Runs <paramref name="job"/> in a fresh container and removes the container on every path. Cancelling
    /// <paramref name="cancellationToken"/> ends the job as <see cref="JobResult.Cancelled"/>; the method does not
    /// throw for cancellation, timeouts or infrastructure failures.
    /// </summary>
    Task<JobOutcome> ExecuteAsync(JobSpec job, IJobProgress progress, CancellationToken cancellationToken);
}
