using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Execution;

/// <summary>
/// The pure parts of phase snapshots: the key (what makes two phases the same), the step script of a job that starts
/// after a snapshot or saves one, what its log says it started from and copied, and the ordering of a run's cells that share phases.
/// </summary>
public sealed class PhaseSnapshotPlanningTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Key_SamePhaseInADeployAndAnUpgradeJob_IsTheSame_AndLaterPhasesDoNotChangeIt()
    {
        JobSpec deploy = Job(Phase("deploy", "aaa"));
        JobSpec upgrade = Job(Phase("deploy", "aaa"), Phase("upgrade", "bbb"));

        Assert.Equal(PhaseSnapshotKey.Compute(deploy, 0, "sha256:image", null), PhaseSnapshotKey.Compute(upgrade, 0, "sha256:image", "sha256:packages"));
        Assert.NotEqual(PhaseSnapshotKey.Compute(upgrade, 0, "sha256:image", null), PhaseSnapshotKey.Compute(upgrade, 1, "sha256:image", null));
    }

    [Fact]
    public void Key_AnotherCommitImageScenarioTextOrPackageSnapshot_IsAnotherKey()
    {
        JobSpec job = Job(Phase("deploy", "aaa"), Phase("upgrade", "bbb"));
        string key = PhaseSnapshotKey.Compute(job, 1, "sha256:image", "sha256:packages")!;

        Assert.NotEqual(key, PhaseSnapshotKey.Compute(Job(Phase("deploy", "aab"), Phase("upgrade", "bbb")), 1, "sha256:image", "sha256:packages"));
        Assert.NotEqual(key, PhaseSnapshotKey.Compute(job, 1, "sha256:other", "sha256:packages"));
        Assert.NotEqual(key, PhaseSnapshotKey.Compute(job, 1, "sha256:image", "sha256:newer-packages"));
        File.WriteAllText(_folder.Combine("site.pp"), "include demo # changed\n");
        Assert.NotEqual(key, PhaseSnapshotKey.Compute(job, 1, "sha256:image", "sha256:packages"));
    }

    [Fact]
    public void Key_ModuleFromAWorkingCopy_HasNone()
    {
        JobSpec job = Job(TestJobs.Phase("deploy", "site.pp", [new DirectoryModuleSource("demo", _folder.Path)], [Manifest()], TestJobs.Apply()));

        Assert.Null(PhaseSnapshotKey.Compute(job, 0, "sha256:image", null));
    }

    [Fact]
    public void Render_StartingAfterASnapshot_RunsTheLaterPhasesWithTheirStepIndexes_AndClearsTheMakersFiles()
    {
        JobSpec job = Job(Phase("deploy", "aaa"), Phase("upgrade", "bbb"), Phase("rollback", "aaa"));
        var plan = new PhaseSnapshotPlan(2, new PhaseSnapshot("upgrade", PhaseSnapshot.Used, "sha256:snap", "k", 1, 2), new Dictionary<int, string>(), "sha256:image");

        string script = StepScript.Render(job, "n0nce", plan);

        Assert.Contains($"for d in /cirunner/phases/*; do [ \"$d\" = \"/cirunner/phases/{job.JobIdText}\" ] || rm -rf \"$d\"; done\n", script, StringComparison.Ordinal);
        Assert.Equal(
            ["phase 2", "step 4 'puppet' 'apply' '--detailed-exitcodes' '--color=false' '--modulepath' '/cirunner/modules' '/cirunner/scenario/site.pp'", "proceed"],
            script.Split('\n').SkipWhile(l => !l.StartsWith("phase ", StringComparison.Ordinal)).Take(3));
        Assert.DoesNotContain("phase 0\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public void JobLog_StartingAfterASnapshot_NamesItAndTheReleaseImage_AndCountsOnlyTheFilesCopied()
    {
        JobSpec job = Job(Phase("deploy", "aaa"), Phase("upgrade", "bbb"), Phase("rollback", "aaa"));
        var from = new PhaseSnapshot("upgrade", PhaseSnapshot.Used, "sha256:" + new string('c', 64), "k3y", 1, 2);

        // The phases before the start come from the snapshot: their files are not copied, nor counted.
        Assert.Equal("1 module(s) and 1 scenario file(s)", JobArchive.Contents(job, 2));
        Assert.Equal("3 module(s) and 3 scenario file(s)", JobArchive.Contents(job, 0));
        Assert.Equal("phase snapshot cccccccccccc (cirunner/phase-snapshot:k3y) of release image image (sha256:base)", JobSummaries.StartedFrom(job, "sha256:base", from));
        Assert.Equal("sha256:base", JobSummaries.StartedFrom(job, "sha256:base", from: null));
    }

    [Fact]
    public void Render_SavedLastPhase_WaitsAfterItsLastStep_SoTheContainerIsThereToCommit()
    {
        JobSpec job = Job(TestJobs.Phase("deploy", "site.pp", [Module("aaa")], [Manifest()], TestJobs.Command("last", "true")));
        var plan = new PhaseSnapshotPlan(0, null, new Dictionary<int, string> { [0] = "k" }, "sha256:image");

        string[] lines = StepScript.Render(job, "n0nce", plan).Split('\n');

        Assert.Equal(["step 0 'true'", "proceed", "exec sleep infinity", ""], lines[^4..]);
        Assert.False(StepScript.EndsOnItsOwn(job, plan));
        Assert.True(StepScript.EndsOnItsOwn(job, PhaseSnapshotPlan.None));
    }

    [Theory]
    [InlineData(JobKind.Upgrade, "2023.1", "zed", "conf", 1L, true)]
    [InlineData(JobKind.Deploy, "zed", null, "conf", 1L, true)]
    [InlineData(JobKind.Upgrade, "2023.1", "zed", "conf", 2L, false)]
    [InlineData(JobKind.Upgrade, "2023.1", "zed", "other", 1L, false)]
    [InlineData(JobKind.Deploy, "2023.1", null, "conf", 1L, false)]
    [InlineData(JobKind.Upgrade, "2024.1", "zed", "conf", 1L, false)]
    public void Waits_ARollbackJob_WhileAJobOfItsRunThatSavesAPhaseItStartsAfterRuns(JobKind kind, string release, string? from, string scenario, long run, bool waits)
    {
        var ordering = new PhaseSnapshotOrdering(Options.Create(new SnapshotOptions()));
        QueuedJob rollback = Queued(2, 1, JobKind.Rollback, "2023.1", "zed", "conf");
        QueuedJob running = Queued(1, run, kind, release, from, scenario);

        Assert.False(ordering.Waits(rollback));
        ordering.Started(running);
        Assert.Equal(waits, ordering.Waits(rollback));
        ordering.Ended(running);
        Assert.False(ordering.Waits(rollback));
    }

    [Fact]
    public void Waits_WithSnapshotsOff_Never()
    {
        var ordering = new PhaseSnapshotOrdering(Options.Create(new SnapshotOptions { Enabled = false }));
        ordering.Started(Queued(1, 1, JobKind.Upgrade, "2023.1", "zed", "conf"));

        Assert.False(ordering.Waits(Queued(2, 1, JobKind.Rollback, "2023.1", "zed", "conf")));
    }

    [Fact]
    public void SnapshotOf_AStepOfAPhaseUpToTheOneStartedFrom_NamesTheSnapshot_LaterStepsRanHere()
    {
        var used = new PhaseSnapshot("upgrade", PhaseSnapshot.Used, "sha256:snap", "k", 3, 12);
        var detail = new CiRunner.Results.JobDetail(null!, [], [], []) { PhaseSnapshots = [used, used with { Phase = "rollback", Role = PhaseSnapshot.Made }] };
        CiRunner.Results.StepRecord Step(string phase) => new(1, 1, 0, phase, "apply", StepKind.Apply, default, default, TimeSpan.Zero, 0, JobResult.Success);

        Assert.Equal(used, detail.SnapshotOf(Step("deploy")));
        Assert.Equal(used, detail.SnapshotOf(Step("upgrade")));
        Assert.Null(detail.SnapshotOf(Step("rollback")));
    }

    private static QueuedJob Queued(long jobId, long runId, JobKind kind, string release, string? from, string scenario) =>
        new(runId, jobId, JobPriority.Manual) { Cell = new QueuedCell(kind, release, from, scenario) };

    private JobSpec Job(params JobPhase[] phases) => TestJobs.Job("i", "image", _folder, phases: phases);

    private JobPhase Phase(string name, string commit) => TestJobs.Phase(name, "site.pp", [Module(commit)], [Manifest()], TestJobs.Apply(), TestJobs.Idempotency());

    private GitModuleSource Module(string commit) => new("demo", _folder.Combine("repo"), commit);

    private ScenarioFile Manifest()
    {
        string path = _folder.Combine("site.pp");
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "include demo\n");
        }

        return new ScenarioFile("site.pp", path);
    }
}
