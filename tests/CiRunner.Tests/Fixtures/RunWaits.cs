using CiRunner.Results;

namespace CiRunner.Tests.Fixtures;

/// <summary>Bounded waits on stored runs, for tests that drive the real dispatcher.</summary>
public static class RunWaits
{
    /// <summary>Polls the store until the run has finished; fails after three minutes, or <paramref name="bound"/>.</summary>
    public static async Task<RunRecord> ForRunAsync(RunStore runs, long runId, TimeSpan? bound = null)
    {
        using var timeout = new CancellationTokenSource(bound ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            RunRecord? run = await runs.GetAsync(runId, timeout.Token);
            if (run?.FinishedAt is not null)
            {
                return run;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), timeout.Token);
        }
    }
}
