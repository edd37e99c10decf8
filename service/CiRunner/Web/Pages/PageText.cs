using System.Globalization;

namespace CiRunner.Web.Pages;

/// <summary>
/// The words the pages show for results, times and durations: plain text, which the components encode. A result is
/// always a symbol and a word as well as a color, so it reads without color vision.
/// </summary>
internal static class PageText
{
    /// <summary>The symbol, word and CSS class of a result; never color alone.</summary>
    public static (string Symbol, string Word, string CssClass) Describe(JobResult? result, JobState state = JobState.Finished) => result switch
    {
        JobResult.Success => ("✓", "passed", "result-success"),
        JobResult.Failure => ("✗", "failed", "result-failure"),
        JobResult.Error => ("!", "error", "result-error"),
        JobResult.Timeout => ("◔", "timeout", "result-timeout"),
        JobResult.Cancelled => ("⊘", "cancelled", "result-cancelled"),
        JobResult.Skipped => ("–", "skipped", "result-skipped"),
        JobResult.Interrupted => ("↯", "interrupted", "result-interrupted"),
        JobResult.Superseded => ("↷", "superseded", "result-superseded"),
        JobResult.Flaky => ("≈", "flaky", "result-flaky"),
        _ when state == JobState.Running => ("▶", "running", "result-running"),
        _ => ("…", "queued", "result-queued"),
    };

    public static string ShortSha(string? sha) => sha is { Length: > 10 } ? sha[..10] : sha ?? "";

    /// <summary>How long ago, in one short phrase ("3 h ago").</summary>
    public static string Age(DateTimeOffset at, DateTimeOffset now)
    {
        TimeSpan age = now - at;
        return age.TotalSeconds < 60 ? "just now"
            : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes} min ago"
            : age.TotalHours < 48 ? $"{(int)age.TotalHours} h ago"
            : $"{(int)age.TotalDays} d ago";
    }

    public static string Duration(TimeSpan? duration) => duration switch
    {
        null => "",
        { TotalSeconds: < 60 } d => $"{d.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s",
        { TotalHours: < 1 } d => $"{(int)d.TotalMinutes} min {d.Seconds} s",
        TimeSpan d => $"{(int)d.TotalHours} h {d.Minutes} min",
    };

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A fraction as a percentage with at most one decimal ("16.7 %").</summary>
    public static string Percent(double fraction) => $"{Math.Round(fraction * 100, 1).ToString("0.#", CultureInfo.InvariantCulture)} %";

    /// <summary>Seconds as a duration ("2 min 5 s").</summary>
    public static string Seconds(double seconds) => Duration(TimeSpan.FromSeconds(seconds));
}
