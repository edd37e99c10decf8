using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Results;

namespace CiRunner.Scheduling;

/// <summary>The bisects a red job needs, or why it needs none.</summary>
public sealed record BisectPlan(IReadOnlyList<NewBisect> Bisects, string? NoneBecause);

/// <summary>
/// Decides what to search when a cell turned red, from the last green job's lockfile and the red one's: the module
/// under test's commits when it moved (more than one commit), else each dependency whose commit moved. The other
/// modules stay as in the red job; when some of them moved too, the good end is run first, so that a red they caused
/// is not blamed on the commits searched.
/// </summary>
public static class BisectPlanner
{
    public static BisectPlan Plan(
        RunRecord goodRun, long goodJobId, JobLockfile goodLockfile, RunRecord badRun, JobRecord badJob, JobLockfile badLockfile, TrackedModule module, ModuleSetResolver resolver, BisectOptions options)
    {
        ArgumentNullException.ThrowIfNull(goodRun);
        ArgumentNullException.ThrowIfNull(goodLockfile);
        ArgumentNullException.ThrowIfNull(badRun);
        ArgumentNullException.ThrowIfNull(badJob);
        ArgumentNullException.ThrowIfNull(badLockfile);
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(options);

        if (badLockfile.Modules.Concat(goodLockfile.Modules).Any(m => m.Ref == JobSpecFactory.WorkingCopyRef))
        {
            return new BisectPlan([], "a job ran a working copy (cirunner run --ref PATH), which no commit records");
        }

        List<(string Module, string Url, string Good, string Bad)> moved = Moved(goodLockfile, badLockfile);
        NewBisect Bisect(string target, IReadOnlyList<BisectCommit> history, bool checkGood) =>
            new(badRun.Module, badRun.Branch, badJob.CellKey, target, history, checkGood, options.MaxJobs, options.Retries)
            {
                GoodJobId = goodJobId,
                BadJobId = badJob.Id,
                RequestedBy = $"bisect of job {badJob.Id}",
                RunCommit = badRun.CommitSha,
            };

        if (goodRun.CommitSha != badRun.CommitSha)
        {
            IReadOnlyList<BisectCommit> history = resolver.FirstParentHistory(module.Name, module.Url, goodRun.CommitSha, badRun.CommitSha);
            if (history.Count <= 2)
            {
                return new BisectPlan([], $"{BisectRecord.Abbreviate(badRun.CommitSha)} is the only new commit of {module.Name}: it is the first bad one");
            }

            bool othersMoved = moved.Any(m => m.Module != module.Name);
            return new BisectPlan([Bisect(module.Name, history, othersMoved)], null);
        }

        var dependencies = moved.Where(m => m.Module != module.Name).ToList();
        if (dependencies.Count == 0)
        {
            return new BisectPlan([], "no module's commit moved since the last green job: a flake, or a cause outside the lockfile (replay the red job to see)");
        }

        return new BisectPlan(
            dependencies.Select(d => Bisect(d.Module, resolver.FirstParentHistory(d.Module, d.Url, d.Good, d.Bad), dependencies.Count > 1)).ToList(),
            null);
    }

    /// <summary>Each module whose commit differs between the two lockfiles, with its first differing pair in phase order.</summary>
    private static List<(string Module, string Url, string Good, string Bad)> Moved(JobLockfile good, JobLockfile bad)
    {
        var goodCommits = good.Modules.ToDictionary(m => (m.Phase, m.Module), m => m.CommitSha);
        var moved = new List<(string, string, string, string)>();
        foreach (JobModuleRecord entry in bad.Modules.OrderBy(m => PhaseNames.Order(m.Phase)))
        {
            if (goodCommits.TryGetValue((entry.Phase, entry.Module), out string? before) && before != entry.CommitSha && moved.All(m => m.Item1 != entry.Module))
            {
                moved.Add((entry.Module, entry.GitUrl, before, entry.CommitSha));
            }
        }

        return moved;
    }
}
