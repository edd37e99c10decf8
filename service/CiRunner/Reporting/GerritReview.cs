using System.Globalization;
using System.Text;
using CiRunner.Configuration;

namespace CiRunner.Reporting;

/// <summary>What the compliance rules say about a finished run: post a review, hold it for the operator, or skip it.</summary>
public enum GerritVerdictKind
{
    Post,
    Hold,
    Skip,
}

/// <summary>The decision on one run's review.</summary>
/// <param name="Kind">Post, hold or skip.</param>
/// <param name="Reason">Why it is held or skipped; for posts, the build result in words.</param>
/// <param name="Passed">Whether every voting job passed (the header says "Build succeeded.").</param>
/// <param name="Vote">The vote on the configured label (+1, -1), or null for a comment without a vote.</param>
public sealed record GerritVerdict(GerritVerdictKind Kind, string Reason, bool Passed, int? Vote);

/// <summary>
/// The third-party CI rules and the review they produce, as pure functions. A review is posted only for a run whose
/// every job reached a verdict (no infrastructure <c>error</c>, no <c>interrupted</c> or <c>cancelled</c> job: those are
/// retried or shown to the operator, never blamed on the change); a newer patch set's arrival skips it. The build
/// fails only when a voting job failed or timed out, so a non-voting job never causes a -1, and a vote is given only
/// when <c>Gerrit:Voting</c> is on and some job votes.
/// </summary>
public static class GerritReview
{
    /// <summary>Every job line starts with this: <c>- &lt;job&gt; &lt;url&gt; : &lt;RESULT&gt; in &lt;duration&gt;</c>.</summary>
    public const string JobLinePrefix = "- ";

    public static GerritVerdict Decide(FinishedRun run, GerritOptions options)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(options);

        if (run.Cells.Count == 0)
        {
            return new GerritVerdict(GerritVerdictKind.Skip, "No job ran: the matrix has no cell for this change's branch.", false, null);
        }

        if (run.Cells.FirstOrDefault(c => c.Result == JobResult.Superseded) is { } superseded)
        {
            return new GerritVerdict(GerritVerdictKind.Skip, $"Superseded: {superseded.Job.Summary ?? "a newer patch set arrived before the jobs ran"}.", false, null);
        }

        ReportedCell? broken = run.Cells.FirstOrDefault(c => c.Result is JobResult.Error or JobResult.Interrupted or JobResult.Cancelled);
        if (broken is not null)
        {
            string reason = string.Create(CultureInfo.InvariantCulture,
                $"Not posted: job {broken.Name} (job {broken.Job.Id}) ended {broken.Result.ToWire()}, which is not the change's fault ({OneLine(broken.Job.Summary)}). ") +
                $"Fix the cause, then comment 'recheck {options.CiName}' on the change to run it again.";
            return new GerritVerdict(GerritVerdictKind.Hold, reason, false, null);
        }

        List<ReportedCell> voting = run.Cells.Where(c => !IsNonVoting(c, options)).ToList();
        List<ReportedCell> failed = voting.Where(c => c.Result is JobResult.Failure or JobResult.Timeout).ToList();
        bool passed = failed.Count == 0;

        // A failure the flake ledger knows as flaky does not vote -1 on its own (OpenStack's third-party CI rules ask
        // CIs not to post noise): when it is the only kind of failure, the review is posted without a vote.
        bool onlyKnownFlaky = !passed && failed.All(c => c.IsKnownFlakyFailure);
        int? vote = options.Voting && voting.Count > 0 && !onlyKnownFlaky ? (passed ? 1 : -1) : null;
        string result = passed ? "Build succeeded." : onlyKnownFlaky ? "Build failed, by known flaky failures only: no vote." : "Build failed.";
        return new GerritVerdict(GerritVerdictKind.Post, result, passed, vote);
    }

    /// <summary>Whether a job is reported <c>(non-voting)</c>: its scenario is listed in <c>Gerrit:NonVotingScenarios</c>.</summary>
    public static bool IsNonVoting(ReportedCell cell, GerritOptions options)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(options);
        return options.NonVotingScenarios.Contains(cell.Job.Scenario, StringComparer.Ordinal);
    }

    /// <summary>
    /// The review message third-party CIs post:
    /// <code>
    /// Acme CI: Build failed.
    ///
    /// Contact: https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI
    /// Patch set 3, run 42, finished 2025-04-01 02:13:07 UTC: https://ci.example.org/runs/42
    ///
    /// - cirunner-zed-scenario001 https://ci.example.org/jobs/7 : SUCCESS in 3m 12s
    /// - cirunner-2024.1-scenario004 https://ci.example.org/jobs/8 : FAILURE in 1m 05s (non-voting)
    /// </code>
    /// The run's link is also how a retry recognises a review that already got through.
    /// </summary>
    public static string FormatMessage(FinishedRun run, GerritVerdict verdict, GerritOptions options, ReportLinks links)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(verdict);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(links);

        var message = new StringBuilder();
        message.Append(options.CiName).Append(": ").Append(verdict.Passed ? "Build succeeded." : "Build failed.").Append("\n\n");
        message.Append("Contact: ").Append(options.ContactUrl).Append('\n');
        string patchSet = run.Run.PatchSet is { } number ? $"Patch set {number}, run" : "Run";
        string finished = (run.Run.FinishedAt ?? run.Run.CreatedAt).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        message.Append(CultureInfo.InvariantCulture, $"{patchSet} {run.Run.Id}, finished {finished} UTC: {RunMarker(run.Run.Id, links)}\n\n");
        foreach (ReportedCell cell in run.Cells)
        {
            message.Append(JobLinePrefix).Append(cell.Name).Append(' ').Append(links.Job(cell.Job.Id)).Append(" : ").Append(ResultWord(cell.Result));
            if (cell.Job.Duration is { } duration)
            {
                message.Append(" in ").Append(FormatDuration(duration));
            }

            if (IsNonVoting(cell, options))
            {
                message.Append(" (non-voting)");
            }

            if (cell.Flake is { } flake)
            {
                message.Append(" (").Append(flake.Describe()).Append(')');
            }

            message.Append('\n');
        }

        return message.ToString().TrimEnd('\n');
    }

    /// <summary>The run's link as the review writes it; a review that contains it reports this run.</summary>
    public static string RunMarker(long runId, ReportLinks links)
    {
        ArgumentNullException.ThrowIfNull(links);
        return links.Run(runId);
    }

    /// <summary>
    /// The review's tag: <c>autogenerated:</c> lets reviewers hide bot comments, and Gerrit hides a CI's older
    /// comment when a newer patch set gets one with the same tag. The CI's name keeps two CiRunner CIs apart.
    /// </summary>
    public static string Tag(GerritOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var slug = new StringBuilder();
        foreach (char c in options.CiName.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        return $"autogenerated:cirunner:{slug.ToString().Trim('-')}";
    }

    /// <summary>
    /// Results as OpenStack third-party CI comments spell them (<c>SUCCESS</c>, <c>FAILURE</c>, <c>TIMED_OUT</c>): readers
    /// of CI comments expect that format's words, so these are the one exception to <see cref="WireNames"/> (see
    /// docs/wire-names.md).
    /// </summary>
    public static string ResultWord(JobResult result) => result switch
    {
        JobResult.Success => "SUCCESS",
        JobResult.Failure => "FAILURE",
        JobResult.Timeout => "TIMED_OUT",
        JobResult.Error => "ERROR",
        JobResult.Cancelled => "CANCELLED",
        JobResult.Skipped => "SKIPPED",
        JobResult.Interrupted => "INTERRUPTED",
        JobResult.Superseded => "SUPERSEDED",

        // The format knows no flaky word, and tools that read CI comments know only its words: the line says
        // "SUCCESS" (it passed, on the rerun) and its note names the failure that came first.
        JobResult.Flaky => "SUCCESS",
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, $"JobResult.{result} has no CI comment word; add it here and to docs/wire-names.md."),
    };

    /// <summary><c>45s</c>, <c>3m 12s</c>, <c>1h 02m 03s</c>.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        long seconds = (long)Math.Round(Math.Max(0, duration.TotalSeconds), MidpointRounding.AwayFromZero);
        long hours = seconds / 3600;
        long minutes = seconds % 3600 / 60;
        long rest = seconds % 60;
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}h {minutes:00}m {rest:00}s")
            : minutes > 0 ? string.Create(CultureInfo.InvariantCulture, $"{minutes}m {rest:00}s") : string.Create(CultureInfo.InvariantCulture, $"{rest}s");
    }

    private static string OneLine(string? text) => (text ?? "no summary").ReplaceLineEndings(" ").TrimEnd('.');
}
