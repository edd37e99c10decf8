using System.Globalization;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary>How the results verbs spell values: enums by their wire names, UTC times, short durations.</summary>
internal static class ResultsText
{
    public const string None = "-";

    public static string Time(DateTimeOffset? time) =>
        time is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : None;

    /// <summary><c>1h02m03s</c>, <c>2m03s</c>, <c>4.2s</c>.</summary>
    public static string Duration(TimeSpan? duration)
    {
        if (duration is not { } value)
        {
            return None;
        }

        if (value.TotalHours >= 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalHours}h{value.Minutes:00}m{value.Seconds:00}s");
        }

        if (value.TotalMinutes >= 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value.Minutes}m{value.Seconds:00}s");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.0}s");
    }

    /// <summary>
    /// <c>attempt 2, re-run of job 7 on the same lockfile</c> (a flake re-run), <c>attempt 2, retry of job 7</c> (after
    /// an infrastructure error), <c>attempt 1, replay of job 7</c>, or just the attempt.
    /// </summary>
    public static string AttemptOf(JobRecord job)
    {
        string of = job.RerunOf is { } failed ? $", re-run of job {failed} on the same lockfile"
            : job.RetryOf is { } earlier ? $", retry of job {earlier}"
            : job.ReplayOf is { } replayed ? $", replay of job {replayed}"
            : "";
        return string.Create(CultureInfo.InvariantCulture, $"attempt {job.Attempt}{of}");
    }

    /// <summary>Enough of a commit to find it; the full sha is in <c>show</c>.</summary>
    public static string ShortSha(string sha) => sha.Length > 10 ? sha[..10] : sha;

    /// <summary>Docker's short image id: twelve hex digits without the algorithm.</summary>
    public static string ShortImage(string? imageId)
    {
        if (string.IsNullOrEmpty(imageId))
        {
            return None;
        }

        string hex = imageId.StartsWith("sha256:", StringComparison.Ordinal) ? imageId["sha256:".Length..] : imageId;
        return hex.Length > 12 ? hex[..12] : hex;
    }

    /// <summary>A run's result, or where it is while it has none.</summary>
    public static string Status(RunRecord run) =>
        run.Result is { } result ? result.ToWire() : run.StartedAt is null ? JobState.Queued.ToWire() : JobState.Running.ToWire();

    /// <summary>A job's result, or its state while it has none.</summary>
    public static string Status(JobRecord job) =>
        job.Result is { } result ? result.ToWire() : job.State.ToWire();

    public static string OrNone(string? text) => string.IsNullOrEmpty(text) ? None : text;

    public static string OrNone(int? number) => number?.ToString(CultureInfo.InvariantCulture) ?? None;

    public static string Number(long number) => number.ToString(CultureInfo.InvariantCulture);

    public static string Passed(int passed, int total) => string.Create(CultureInfo.InvariantCulture, $"{passed}/{total}");
}
