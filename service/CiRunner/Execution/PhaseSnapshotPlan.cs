namespace CiRunner.Execution;

/// <summary>What one job does with phase snapshots, decided before its container is created.</summary>
/// <param name="StartPhase">The first phase the job runs; the ones before come from <paramref name="From"/>.</param>
/// <param name="From">The snapshot the container starts from; null to start from the release image.</param>
/// <param name="Save">The phases to commit when they end green, by index, with their keys.</param>
/// <param name="BaseImageId">The id of the release image (the job's image, whether or not it starts from a snapshot).</param>
internal sealed record PhaseSnapshotPlan(int StartPhase, PhaseSnapshot? From, IReadOnlyDictionary<int, string> Save, string? BaseImageId)
{
    /// <summary>Every phase runs, nothing is saved.</summary>
    public static PhaseSnapshotPlan None { get; } = new(0, null, new Dictionary<int, string>(), null);

    /// <summary>Whether the phase at <paramref name="phase"/> is committed when it ends green.</summary>
    public bool Saves(int phase) => Save.ContainsKey(phase);
}
