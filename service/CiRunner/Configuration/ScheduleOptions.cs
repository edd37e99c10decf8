namespace CiRunner.Configuration;

/// <summary>The <c>Schedule</c> section: how often branches are polled and when the nightly matrix runs.</summary>
public sealed class ScheduleOptions
{
    public const string SectionName = "Schedule";

    /// <summary>Time between two polls of one module.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Upper bound of a per-module offset added to the first poll, so that modules do not all poll in the same
    /// second. At most <see cref="PollInterval"/>.
    /// </summary>
    public TimeSpan PollJitter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Quartz cron expression (seconds first) for the nightly run of every tracked stable branch.</summary>
    public string NightlyCron { get; set; } = "0 0 2 * * ?";

    /// <summary>Skip branches whose head did not change since the last nightly run.</summary>
    public bool NightlySkipUnchanged { get; set; }

    /// <summary>Branch patterns the nightly run covers, among each module's tracked branches.</summary>
    public List<string> NightlyBranches { get; set; } = ["stable/*"];
}
