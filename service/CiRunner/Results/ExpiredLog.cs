using System.Globalization;

namespace CiRunner.Results;

/// <summary>How the dashboard, the API and <c>cirunner logs</c> word a log that retention removed.</summary>
public static class ExpiredLog
{
    /// <summary>The same, with the retention age as the service has it (<c>90d</c> for whole days).</summary>
    public static string? Describe(JobRecord job, TimeSpan maxAge) =>
        Describe(job, maxAge.Ticks % TimeSpan.TicksPerDay == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{maxAge.Days}d")
            : Matrix.Duration.Format(maxAge));

    /// <summary>
    /// "The log of job 12 expired: ..." with when it was pruned and the retention age, or null when the job was never
    /// pruned (then a missing log has another cause).
    /// </summary>
    /// <param name="job">The job.</param>
    /// <param name="maxAge">The configured <c>Retention:MaxAge</c> as written (<c>90d</c>); null when unknown.</param>
    public static string? Describe(JobRecord job, string? maxAge)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.PrunedAt is not { } prunedAt)
        {
            return null;
        }

        string age = maxAge is null ? "Retention:MaxAge" : $"Retention:MaxAge ({maxAge})";
        string when = prunedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return $"The log of job {job.Id} expired: retention removed it, with the job's steps and module commits, on {when}, " +
            $"because the job finished more than {age} before. Its result and summary are kept.";
    }
}
