namespace CiRunner.Results;

/// <summary>
/// The head the poller last saw on a module branch. <see cref="DeletedAt"/> is when the branch disappeared from
/// the remote, null while it exists.
/// </summary>
public sealed record BranchHeadRecord(
    string Module,
    string Branch,
    string CommitSha,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? DeletedAt)
{
    /// <summary>
    /// How many times the head changed (1 once first seen): a run for the next head claims <c>Generation + 1</c>, and
    /// the store refuses a second run for one generation, so instances polling the same remote start one run per head.
    /// </summary>
    public long Generation { get; init; }
}

/// <summary>The latest verdict of one matrix cell on a module branch.</summary>
public sealed record CellResultRecord(
    string Module,
    string Branch,
    string CellKey,
    long JobId,
    JobResult Result,
    string CommitSha,
    DateTimeOffset FinishedAt);
