namespace CiRunner.Configuration;

/// <summary>The <c>Retention</c> section: how long job logs and job details are kept.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>Prune at all. Off keeps everything forever.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Logs, steps, idempotency changes and lockfiles of jobs that finished longer ago are removed. Runs and job
    /// summaries stay, and so does everything of the job that is a cell's latest result.
    /// </summary>
    [Duration(Minimum = "1h", ErrorMessage = Matrix.Duration.Expected + ", at least 1h")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Quartz cron expression (seconds first) for the pruning job.</summary>
    [QuartzCron(ErrorMessage = "a Quartz cron expression with seconds first, like 0 30 3 * * ? for 03:30 every day")]
    public string Cron { get; set; } = "0 30 3 * * ?";
}
