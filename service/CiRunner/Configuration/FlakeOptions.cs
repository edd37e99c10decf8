namespace CiRunner.Configuration;

/// <summary>
/// The <c>Flakes</c> section: the re-run that tells a flake from a failure, the ledger that remembers flakes per cell
/// and failure signature, and how the Gerrit vote uses it.
/// </summary>
public sealed class FlakeOptions
{
    public const string SectionName = "Flakes";

    /// <summary>
    /// How many times a failed or timed-out cell runs again on the same lockfile before its run is reported. A cell that
    /// passes on a re-run is <c>flaky</c>; one that fails every time stands as failed. 0 reports the first failure.
    /// </summary>
    [WholeNumber(0, 3, ErrorMessage = "a whole number from 0 to 3, like 1")]
    public int Reruns { get; set; } = 1;

    /// <summary>How many of a cell's latest runs the ledger counts a signature's flakes over.</summary>
    [WholeNumber(2, 500, ErrorMessage = "a whole number of runs from 2 to 500, like 20")]
    public int Window { get; set; } = 20;

    /// <summary>
    /// A failure whose signature flaked in more than this share of the cell's last <see cref="Window"/> runs does not
    /// vote -1 on its own: the review marks it as known flaky. 1 turns that off (no rate is above it).
    /// </summary>
    [Number(0, 1, ErrorMessage = "a fraction above 0 and at most 1, like 0.1 (10 % of the window's runs)")]
    public double VoteThreshold { get; set; } = 0.1;
}
