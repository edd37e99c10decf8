namespace CiRunner.Results;

/// <summary>
/// Another instance polling the same remote already started the run for this head (the store's one-run-per-head
/// index refused a second): nothing of this run was stored, and nothing is to be queued.
/// </summary>
public sealed class HeadAlreadyStartedException : Exception
{
    public HeadAlreadyStartedException(string module, string headRef, string commitSha, long generation, long? runId)
        : base($"{module} {headRef} at {commitSha} (head generation {generation}) was already started as run {runId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}.")
    {
        Module = module;
        HeadRef = headRef;
        CommitSha = commitSha;
        Generation = generation;
        RunId = runId;
    }

    public string Module { get; }

    public string HeadRef { get; }

    public string CommitSha { get; }

    public long Generation { get; }

    /// <summary>The run that holds the head; null if it could not be read back.</summary>
    public long? RunId { get; }
}
