using CiRunner.Results;

namespace CiRunner.Tests.Fixtures;

/// <summary>Bounded waits on stored runs, for tests that drive the real dispatcher.</summary>
public static class RunWaits
{
    /// <summary>Polls the store until the run has finished; fails after three minutes, or <paramref name="bound"/>.</summary>
    public static Task<RunRecord> ForRunAsync(RunStore runs, long runId, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return Eventually.ForAsync(
            $"run {runId} to finish",
            async () => await runs.GetAsync(runId, CancellationToken.None) is { FinishedAt: not null } run ? run : null,
            bound ?? TimeSpan.FromMinutes(3),
            interval: TimeSpan.FromMilliseconds(200));
    }
}
