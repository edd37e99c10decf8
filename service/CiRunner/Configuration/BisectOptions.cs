namespace CiRunner.Configuration;

/// <summary>
/// The <c>Bisect</c> section: the automatic search for the first bad commit when a branch cell turns from passed to
/// failed or timed out.
/// </summary>
public sealed class BisectOptions
{
    public const string SectionName = "Bisect";

    /// <summary>Start a bisect when a branch cell turns red. Off leaves <c>cirunner bisect</c> as the only way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The most jobs one search may run, the re-run of the red job and every retry included. 16 covers 64 commits with
    /// one retry per failing midpoint; a search that runs out ends as inconclusive, naming the range it narrowed.
    /// </summary>
    [WholeNumber(1, 200, ErrorMessage = "a whole number of jobs from 1 to 200, like 16")]
    public int MaxJobs { get; set; } = 16;

    /// <summary>
    /// How many times a failing midpoint is run again before it counts as bad: a midpoint that both passes and fails
    /// is reported as flaky and counts as good, so one flake cannot name a wrong culprit. 0 trusts every failure.
    /// </summary>
    [WholeNumber(0, 5, ErrorMessage = "a whole number from 0 to 5, like 1")]
    public int Retries { get; set; } = 1;
}
