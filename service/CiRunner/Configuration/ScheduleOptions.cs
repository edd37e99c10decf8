using System.ComponentModel.DataAnnotations;

namespace CiRunner.Configuration;

/// <summary>The <c>Schedule</c> section: how often branches are polled and when the nightly matrix runs.</summary>
public sealed class ScheduleOptions : IValidatableObject
{
    public const string SectionName = "Schedule";

    /// <summary>Time between two polls of one module.</summary>
    [Duration(Minimum = "5s", ErrorMessage = Matrix.Duration.Expected + ", at least 5s (remotes should not be polled harder)")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Upper bound of a per-module offset added to the first poll, so that modules do not all poll in the same
    /// second. At most <see cref="PollInterval"/>.
    /// </summary>
    [Duration(ErrorMessage = Matrix.Duration.Expected + ", 0s or longer")]
    public TimeSpan PollJitter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Quartz cron expression (seconds first) for the nightly run of every tracked stable branch.</summary>
    [QuartzCron(ErrorMessage = "a Quartz cron expression with seconds first, like 0 0 2 * * ? for 02:00 every day")]
    public string NightlyCron { get; set; } = "0 0 2 * * ?";

    /// <summary>Skip branches whose head did not change since the last nightly run.</summary>
    public bool NightlySkipUnchanged { get; set; }

    /// <summary>Branch patterns the nightly run covers, among each module's tracked branches.</summary>
    [ListOf(ItemKind.BranchPattern, ListFix = "a JSON array of branch patterns like [\"stable/*\"]", EmptyFix = "at least one branch pattern, like [\"stable/*\"]",
        ErrorMessage = "a branch name or pattern with * (like stable/*)")]
    public List<string> NightlyBranches { get; set; } = ["stable/*"];

    /// <summary>The rule across keys: the jitter fits within one poll interval.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PollJitter > PollInterval)
        {
            yield return new ValidationResult($"a duration no longer than {SectionName}:{nameof(PollInterval)} ({PollInterval})", [nameof(PollJitter), nameof(PollInterval)]);
        }
    }
}
