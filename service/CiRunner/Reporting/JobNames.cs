using CiRunner.Results;

namespace CiRunner.Reporting;

/// <summary>
/// A job's name in reports (the Gerrit comment, JUnit, webhooks): its cell in words, stable across runs, in the
/// <c>&lt;ci&gt;-&lt;what&gt;</c> form third-party CI jobs use. <c>cirunner-zed-scenario001</c> deploys scenario001 on
/// zed; <c>cirunner-zed-2023.1-scenario001-upgrade</c> upgrades from zed to 2023.1; <c>...-rollback</c> also rolls back.
/// </summary>
public static class JobNames
{
    public const string Prefix = "cirunner-";

    public static string For(JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return For(job.Kind, job.Release, job.FromRelease, job.Scenario);
    }

    public static string For(JobKind kind, string release, string? fromRelease, string scenario) => kind switch
    {
        JobKind.Deploy => $"{Prefix}{release}-{scenario}",
        JobKind.Upgrade => $"{Prefix}{fromRelease}-{release}-{scenario}-upgrade",
        JobKind.Rollback => $"{Prefix}{fromRelease}-{release}-{scenario}-rollback",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown job kind."),
    };
}
