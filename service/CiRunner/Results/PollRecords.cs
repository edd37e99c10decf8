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
    DateTimeOffset? DeletedAt);

/// <summary>The latest verdict of one matrix cell on a module branch.</summary>
public sealed record CellResultRecord(
    string Module,
    string Branch,
    string CellKey,
    long JobId,
    JobResult Result,
    string CommitSha,
    DateTimeOffset FinishedAt);
