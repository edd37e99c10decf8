namespace CiRunner.Results;

/// <summary>What a bisect does next.</summary>
/// <param name="RunPosition">The position to run next; null when the search is over.</param>
/// <param name="Verdict">How it ended, when it is over.</param>
/// <param name="CulpritPosition">The first bad commit's position, for <see cref="BisectVerdict.Culprit"/>.</param>
/// <param name="Summary">One line on how it ended (flaky commits included), when it is over.</param>
public sealed record BisectDecision(int? RunPosition, BisectVerdict? Verdict, int? CulpritPosition, string? Summary)
{
    public static BisectDecision Run(int position) => new(position, null, null, null);

    public static BisectDecision End(BisectVerdict verdict, string summary, int? culprit = null) => new(null, verdict, culprit, summary);
}

/// <summary>
/// The search, the one place that decides a bisect's next step from the steps so far (the store asks here inside
/// the transaction that finishes each step, as it asks <see cref="RetryPolicy"/>). Positions run from 0, the last
/// green commit, to the highest, the red one. The red one is run first: a red that does not come back is no
/// regression to hunt. Then midpoints of the first-parent history halve the range, as <c>git bisect</c> does; a
/// failing midpoint runs again <c>retries</c> times before it counts as bad, and one that both passes and fails is
/// flaky and counts as good (it cannot be where a deterministic failure starts).
/// </summary>
public static class BisectSearch
{
    /// <param name="badPosition">The red commit's position (the history's length - 1), at least 1.</param>
    /// <param name="checkGood">Run position 0 too before trusting it (<see cref="NewBisect.CheckGood"/>).</param>
    /// <param name="retries">Re-runs of a failing midpoint before it counts as bad.</param>
    /// <param name="maxJobs">The most steps the search may run.</param>
    /// <param name="steps">The finished steps so far: position and result (a step's final attempt).</param>
    /// <param name="shortSha">How a position is named in the summary.</param>
    public static BisectDecision Next(int badPosition, bool checkGood, int retries, int maxJobs, IReadOnlyList<(int Position, JobResult Result)> steps, Func<int, string> shortSha)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(badPosition, 1);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(shortSha);

        // A step that says nothing about the commit ends the search: running on would build on a hole.
        foreach ((int position, JobResult result) in steps)
        {
            if (result is JobResult.Cancelled or JobResult.Superseded)
            {
                return BisectDecision.End(BisectVerdict.Cancelled, $"the step at {shortSha(position)} was cancelled");
            }

            if (!IsVerdict(result))
            {
                return BisectDecision.End(BisectVerdict.Error, $"the step at {shortSha(position)} ended {result.ToWire()}, which says nothing about the commit");
            }
        }

        var byPosition = steps.GroupBy(s => s.Position).ToDictionary(g => g.Key, g => (Passes: g.Count(s => s.Result == JobResult.Success), Fails: g.Count(s => s.Result != JobResult.Success)));
        string flaky = Flaky(byPosition, shortSha);

        // 1. The red commit again, exactly as the red job ran: once, since its red is already one failure.
        if (!byPosition.TryGetValue(badPosition, out var bad))
        {
            return BisectDecision.Run(badPosition);
        }

        if (bad.Passes > 0)
        {
            return BisectDecision.End(BisectVerdict.NotReproducible, $"the bad commit {shortSha(badPosition)} passed when run again: the red was a flake, or came from outside the lockfile");
        }

        // 2. The good end, when another module moved too: if it fails with the rest as in the red job, the red is not in this history.
        if (checkGood)
        {
            switch (Classify(byPosition, 0, retries))
            {
                case Known.Unknown or Known.NeedsRerun:
                    return Within(steps.Count, maxJobs, 0, 0, badPosition, shortSha, flaky);
                case Known.Bad:
                    return BisectDecision.End(BisectVerdict.NotInRange, $"{shortSha(0)} fails as well with the other modules as in the red job: the red comes from another module that moved{flaky}");
            }
        }

        // 3. Halve [lo, hi]: lo the highest good position below hi, hi the lowest bad one.
        int hi = byPosition.Keys.Where(p => p != 0 || checkGood).Where(p => Classify(byPosition, p, retries) == Known.Bad).Append(badPosition).Min();
        int lo = byPosition.Keys.Where(p => p < hi && Classify(byPosition, p, retries) == Known.Good).Append(0).Max();
        if (byPosition.Keys.FirstOrDefault(p => p > lo && p < hi && Classify(byPosition, p, retries) == Known.NeedsRerun) is int rerun and > 0)
        {
            return Within(steps.Count, maxJobs, rerun, lo, hi, shortSha, flaky);
        }

        if (hi - lo <= 1)
        {
            return BisectDecision.End(BisectVerdict.Culprit, $"first bad commit {shortSha(hi)} after {steps.Count} jobs{flaky}", hi);
        }

        return Within(steps.Count, maxJobs, lo + ((hi - lo) / 2), lo, hi, shortSha, flaky);
    }

    /// <summary>Whether a result says something about the commit: passed, failed or timed out.</summary>
    public static bool IsVerdict(JobResult result) => result is JobResult.Success or JobResult.Failure or JobResult.Timeout;

    private enum Known
    {
        Unknown,
        Good,
        Bad,
        NeedsRerun,
    }

    private static Known Classify(Dictionary<int, (int Passes, int Fails)> byPosition, int position, int retries) =>
        !byPosition.TryGetValue(position, out var runs) ? Known.Unknown
        : runs.Passes > 0 ? Known.Good
        : runs.Fails > retries ? Known.Bad
        : Known.NeedsRerun;

    private static BisectDecision Within(int used, int maxJobs, int position, int lo, int hi, Func<int, string> shortSha, string flaky) =>
        used < maxJobs
            ? BisectDecision.Run(position)
            : BisectDecision.End(BisectVerdict.Inconclusive, $"Bisect:MaxJobs ({maxJobs}) used up; the first bad commit is after {shortSha(lo)} and at or before {shortSha(hi)}{flaky}");

    private static string Flaky(Dictionary<int, (int Passes, int Fails)> byPosition, Func<int, string> shortSha)
    {
        var flaky = byPosition.Where(p => p.Value.Passes > 0 && p.Value.Fails > 0).Select(p => p.Key).Order().Select(shortSha).ToList();
        return flaky.Count == 0 ? "" : $"; flaky (passed and failed): {string.Join(", ", flaky)}";
    }
}
