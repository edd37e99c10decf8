namespace CiRunner.Execution;

/// <summary>Tunables of the executor that are not configuration (they hold for every job).</summary>
public sealed class ExecutorOptions
{
    /// <summary>Bound for each cleanup call (kill, remove), which runs even when the job was cancelled.</summary>
    public TimeSpan CleanupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Output lines quoted as evidence in error summaries.</summary>
    public int EvidenceLines { get; init; } = 15;
}
