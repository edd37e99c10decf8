namespace CiRunner.Results;

/// <summary>
/// One matrix cell's recent history on a module branch (<see cref="CellHistoryStore"/>): its last branch results, the
/// failure signatures among them and the resources its idempotency steps kept changing.
/// </summary>
/// <param name="Module">The module.</param>
/// <param name="Branch">The branch.</param>
/// <param name="CellKey">The cell (<c>2024.1/scenario001</c>, <c>2023.1->2024.1/scenario001:upgrade</c>).</param>
/// <param name="Limit">How many results were asked for; <see cref="Runs"/> holds fewer when the cell has run fewer times.</param>
/// <param name="Runs">The cell's last results, newest first: one per run, its latest attempt.</param>
/// <param name="FailureSignatures">The failure signatures of those runs' attempts, most frequent first.</param>
/// <param name="Drift">Each resource property an idempotency step of those runs changed, still changing first.</param>
public sealed record CellHistory(
    string Module,
    string Branch,
    string CellKey,
    int Limit,
    IReadOnlyList<CellRun> Runs,
    IReadOnlyList<FailureSignatureCount> FailureSignatures,
    IReadOnlyList<IdempotencyDrift> Drift);

/// <summary>
/// One run of a cell: the result of its latest attempt, and what its earlier attempts were (a retry after an
/// infrastructure error, or a rerun on the same lockfile after a failure).
/// </summary>
/// <param name="RunId">The run.</param>
/// <param name="JobId">The latest attempt's job.</param>
/// <param name="Cause">Why the run ran (commit, nightly, manual).</param>
/// <param name="CommitSha">The commit of the module under test.</param>
/// <param name="Result">The latest attempt's result: the cell's verdict for this run.</param>
/// <param name="Duration">How long the latest attempt ran.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="Attempt">Its attempt number (1 when it ran once).</param>
/// <param name="Rerun">Whether it was a rerun on the same lockfile after a failure (a flake rerun).</param>
/// <param name="FailureSignature">What it failed on, or null when it passed.</param>
/// <param name="IdempotencyChanges">Resource properties the idempotency steps of this run's attempts changed (each counted once).</param>
/// <param name="EarlierAttempts">The run's earlier attempts of the cell, oldest first.</param>
public sealed record CellRun(
    long RunId,
    long JobId,
    RunCause Cause,
    string CommitSha,
    JobResult Result,
    TimeSpan? Duration,
    DateTimeOffset FinishedAt,
    int Attempt,
    bool Rerun,
    string? FailureSignature,
    int IdempotencyChanges,
    IReadOnlyList<CellAttempt> EarlierAttempts);

/// <summary>An earlier attempt of a cell in one run.</summary>
/// <param name="JobId">Its job.</param>
/// <param name="Attempt">Its attempt number.</param>
/// <param name="Result">How it ended.</param>
/// <param name="Rerun">Whether it was itself a rerun on the same lockfile.</param>
/// <param name="FailureSignature">What it failed on.</param>
public sealed record CellAttempt(long JobId, int Attempt, JobResult? Result, bool Rerun, string? FailureSignature);

/// <summary>A failure signature of a cell and how often its recent attempts ended on it.</summary>
/// <param name="Signature">The signature (<c>deploy/apply: Error: Could not find class ::demo::x</c>).</param>
/// <param name="Count">Attempts among the cell's last results that failed with it.</param>
/// <param name="LastJobId">The newest such attempt.</param>
/// <param name="LastSeen">When it finished.</param>
public sealed record FailureSignatureCount(string Signature, int Count, long LastJobId, DateTimeOffset LastSeen);

/// <summary>
/// One resource property that an idempotency step of the cell changed (it did not converge on the first apply), across
/// the cell's last results.
/// </summary>
/// <param name="Phase">The phase whose idempotency step changed it (<c>deploy</c>, <c>upgrade</c>, <c>rollback</c>).</param>
/// <param name="StepName">That step's name, as of the newest sighting.</param>
/// <param name="ResourceType">The resource type (<c>File</c>, <c>Keystone_config</c>).</param>
/// <param name="Title">The resource title.</param>
/// <param name="Property">The property that changed (<c>content</c>, <c>value</c>).</param>
/// <param name="FirstSeen">Its oldest sighting among the last results.</param>
/// <param name="LastSeen">Its newest sighting.</param>
/// <param name="Runs">In how many of the last results (runs) it changed.</param>
/// <param name="StillChanges">Whether it changed in the newest result.</param>
public sealed record IdempotencyDrift(
    string Phase,
    string StepName,
    string ResourceType,
    string Title,
    string Property,
    DriftSighting FirstSeen,
    DriftSighting LastSeen,
    int Runs,
    bool StillChanges)
{
    /// <summary>How Puppet names the resource: <c>File[/etc/motd]</c>.</summary>
    public string Resource => $"{ResourceType}[{Title}]";
}

/// <summary>Where a drifting resource property was seen: the job, the commit it tested and when it finished.</summary>
public sealed record DriftSighting(long JobId, string CommitSha, DateTimeOffset At);

/// <summary>One result in a cell's strip on the matrix grid.</summary>
/// <param name="JobId">The job (the run's latest attempt).</param>
/// <param name="Result">Its result.</param>
/// <param name="CommitSha">The commit it tested.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="Attempt">Its attempt number.</param>
public sealed record CellStripEntry(long JobId, JobResult Result, string CommitSha, DateTimeOffset FinishedAt, int Attempt);

/// <summary>How many resource properties changed in the idempotency steps of a cell's latest result.</summary>
public sealed record CellIdempotencyChanges(string Module, string Branch, string CellKey, int Changes);
