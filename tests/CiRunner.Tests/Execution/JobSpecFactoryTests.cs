using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;
using LibGit2Sharp;

namespace CiRunner.Tests.Execution;

/// <summary>The phases of deploy, upgrade and rollback jobs, on real (temp) git repositories and no engine.</summary>
public sealed class JobSpecFactoryTests : IDisposable
{
    private readonly TempDirectory _folder = new();
    private readonly string _repository;
    private readonly string _zedCommit;
    private readonly string _underTest;
    private readonly JobSpecFactory _factory;

    public JobSpecFactoryTests()
    {
        _repository = _folder.Combine("remotes", "puppet-demo");
        _zedCommit = GitRepositories.Create(_repository, "stable/zed", new Dictionary<string, string> { ["metadata.json"] = TestJobs.Metadata("demo") });
        using (var repository = new Repository(_repository))
        {
            Commands.Checkout(repository, repository.CreateBranch("master"));
        }

        _underTest = GitRepositories.Commit(_repository, new Dictionary<string, string> { ["manifests/init.pp"] = "class demo {}\n" }, "under test");
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'stable/zed'\n");
        _folder.Write("scenarios/puppetfiles/2023.1.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/s.pp", "include demo\n");
        _folder.Write("scenarios/s.yaml", "name: s\nmanifest: s.pp\nmodules: [demo]\n");
        _folder.Write("scenarios/u.yaml", "name: u\nmanifest: s.pp\nmodules: [demo]\nrollback: true\n");
        _folder.Write("scenarios/d.yaml", "name: d\nmanifest: s.pp\nmodules: [demo]\nupgrade: false\n");
        _folder.Write("scenarios/w.yaml", """
            name: w
            manifest: s.pp
            modules: [demo]
            network: host
            steps: [apply, idempotency, { type: command, name: check, command: ["true"] }]
            seed: [[touch, /srv/seeded]]
            verify: [[test, -f, /srv/seeded]]
            """);
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master", "stable/*") }),
            ["Releases"] = new JsonArray(
                new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("stable/zed"), ["Image"] = "cirunner/release:zed" },
                new JsonObject
                {
                    ["Name"] = "2023.1", ["Branches"] = new JsonArray("master"), ["Image"] = "cirunner/release:2023.1",
                    ["UpgradePrepareCommand"] = new JsonArray("/usr/local/bin/switch-repos", "2023.1"),
                }),
        };
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(_folder.Write("appsettings.json", config.ToJsonString()));
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        _factory = new JobSpecFactory(
            loaded.Settings,
            new ModuleSetResolver(loaded.Settings.DataPaths),
            new ScenarioCatalog(loaded.Settings, TimeProvider.System, NullLogger<ScenarioCatalog>.Instance));
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Create_DeployJob_OnePhaseWithTheCommitUnderTest()
    {
        (JobSpec spec, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Deploy, null));

        JobPhase phase = Assert.Single(spec.Phases);
        Assert.Equal(("deploy", "cirunner/release:2023.1"), (phase.Name, spec.Image));
        JobModuleRecord locked = Assert.Single(lockfile.Modules);
        Assert.Equal(("deploy", _underTest), (locked.Phase, locked.CommitSha));
    }

    [Fact]
    public void Create_MirrorNotFetchedYet_TheCommitComesFromTheLocalRepositoryItMirrors()
    {
        // The service's first poll has created the module's mirror but not yet fetched into it.
        Repository.Init(_folder.Combine("data", "mirrors", "demo.git"), isBare: true);

        (_, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Deploy, null));

        Assert.Equal(_underTest, Assert.Single(lockfile.Modules).CommitSha);
    }

    [Fact]
    public void Create_UpgradeJob_StartsFromTheFromReleasesImageAndModuleSetThenPreparesAndUpgrades()
    {
        (JobSpec spec, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Upgrade, "zed"));

        Assert.Equal(("cirunner/release:zed", "zed"), (spec.Image, spec.Release));
        Assert.Equal(["deploy", "upgrade"], spec.Phases.Select(p => p.Name));
        Assert.Equal(["apply", "idempotency"], spec.Phases[0].Steps.Select(s => s.Name));
        Assert.Equal(["upgrade-prepare", "apply", "idempotency"], spec.Phases[1].Steps.Select(s => s.Name));
        Assert.Equal(["/usr/local/bin/switch-repos", "2023.1"], spec.Phases[1].Steps[0].Command);
        Assert.Equal([("deploy", _zedCommit), ("upgrade", _underTest)], lockfile.Modules.Select(m => (m.Phase, m.CommitSha)));
    }

    [Fact]
    public void Create_RollbackJob_ReturnsToTheFromReleaseModuleSet()
    {
        (JobSpec spec, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Rollback, "zed"));

        Assert.Equal(["deploy", "upgrade", "rollback"], spec.Phases.Select(p => p.Name));
        Assert.Equal([("deploy", _zedCommit), ("upgrade", _underTest), ("rollback", _zedCommit)], lockfile.Modules.Select(m => (m.Phase, m.CommitSha)));
    }

    [Fact]
    public void Create_SeedAndVerify_SeedOnceAfterDeployVerifyAtTheEndOfEveryPhase()
    {
        (JobSpec spec, _) = _factory.Create(Run(), Job(JobKind.Rollback, "zed", "w"));

        Assert.Equal(
            [
                ("deploy", "apply"), ("deploy", "idempotency"), ("deploy", "check"), ("deploy", "seed: touch /srv/seeded"), ("deploy", "verify: test -f /srv/seeded"),
                ("upgrade", "upgrade-prepare"), ("upgrade", "apply"), ("upgrade", "idempotency"), ("upgrade", "check"), ("upgrade", "verify: test -f /srv/seeded"),
                ("rollback", "apply"), ("rollback", "idempotency"), ("rollback", "check"), ("rollback", "verify: test -f /srv/seeded"),
            ],
            spec.Phases.SelectMany(p => p.Steps.Select(s => (p.Name, s.Name))));
        (JobSpec deploy, _) = _factory.Create(Run(), Job(JobKind.Deploy, null, "w"));
        Assert.Equal(["apply", "idempotency", "check", "seed: touch /srv/seeded", "verify: test -f /srv/seeded"], Assert.Single(deploy.Phases).Steps.Select(s => s.Name));
    }

    [Fact]
    public void Create_ScenarioNetwork_OverridesDockerNetworkModeForItsJobsOnly()
    {
        (JobSpec withNetwork, _) = _factory.Create(Run(), Job(JobKind.Deploy, null, "w"));
        (JobSpec plain, _) = _factory.Create(Run(), Job(JobKind.Deploy, null, "s"));

        Assert.Equal(("host", "none"), (withNetwork.Limits.NetworkMode, plain.Limits.NetworkMode));
    }

    [Fact]
    public void Create_UpgradeFromAnUnconfiguredRelease_SaysSo()
    {
        ModuleSetException refused = Assert.Throws<ModuleSetException>(() => _factory.Create(Run(), Job(JobKind.Upgrade, "yoga")));

        Assert.Contains("Release 'yoga' to upgrade from is no longer configured", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_SnapshotPolicy_UpgradeAndRollbackStartFromSavedPhases_ADeployCellIsSavedOnlyWhereUpgradesStart()
    {
        PhaseSnapshotPolicy? Policy(JobRecord job) => _factory.Create(Run(), job).Spec.Snapshots;
        string? Described(JobRecord job) => Policy(job) is { } policy ? $"reuse={policy.Reuse} save={string.Join(',', policy.Save)}" : null;

        Assert.Equal("reuse=True save=0,1", Described(Job(JobKind.Upgrade, "zed", "u")));
        Assert.Equal("reuse=True save=0", Described(Job(JobKind.Upgrade, "zed", "s")));
        Assert.Equal("reuse=True save=0,1", Described(Job(JobKind.Rollback, "zed", "u")));
        Assert.Equal("reuse=False save=0", Described(Job(JobKind.Deploy, null, "u") with { Release = "zed" }));

        // 2023.1 is no release's upgrade source, and scenario d has no upgrade cells: nothing would start from these.
        Assert.Null(Policy(Job(JobKind.Deploy, null, "u")));
        Assert.Null(Policy(Job(JobKind.Deploy, null, "d") with { Release = "zed" }));

        // A working copy is not pinned by a commit: nothing of it is saved or reused.
        Assert.Null(_factory.Create(Run(), Job(JobKind.Upgrade, "zed", "u"), new DirectoryModuleSource("demo", _repository)).Spec.Snapshots);
    }

    [Fact]
    public void Create_Lockfile_KeepsTheScenarioTextsByHashAndEveryPhaseAsRun()
    {
        (JobSpec spec, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Upgrade, "zed", "w"));

        Assert.Equal(
            [("w.yaml", ScenarioTextRole.Scenario), ("s.pp", ScenarioTextRole.Manifest)],
            lockfile.Files.Select(f => (f.Path, f.Role)));
        Assert.Equal("include demo\n", lockfile.Files[1].Text);
        Assert.Equal(ScenarioText.HashOf("include demo\n"), lockfile.Files[1].Hash);
        Assert.Equal(("cirunner/release:zed", "zed", "host"), (lockfile.Image, lockfile.ImageRelease, lockfile.NetworkMode));
        Assert.Equal(spec.Phases.Select(p => (p.Name, p.Manifest, string.Join(";", p.Steps.Select(s => s.Name)))), lockfile.Phases.Select(p => (p.Name, p.Manifest, string.Join(";", p.Steps.Select(s => s.Name)))));

        // Stored as JSON and read back: the same steps, commands and timeouts.
        IReadOnlyList<LockfilePhase> readBack = JobLockfile.ParsePhases(lockfile.PhasesJson());
        Assert.Equal(lockfile.Phases.SelectMany(p => p.Steps), readBack.SelectMany(p => p.Steps), new StepComparer());
    }

    [Fact]
    public void Replay_ScenarioEditedSince_CopiesInTheStoredTextAndTheSameCommits()
    {
        (_, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Upgrade, "zed"));
        _folder.Write("scenarios/s.pp", "include demo\nnotify { 'edited': }\n");
        GitRepositories.Commit(_repository, new Dictionary<string, string> { ["manifests/init.pp"] = "class demo { notify { 'newer': } }\n" }, "newer");

        (JobSpec replay, _) = _factory.Replay(Run(), Job(JobKind.Upgrade, "zed"), 7, lockfile with { ImageId = "sha256:0123" });

        Assert.Equal(("sha256:0123", 7L), (replay.Image, replay.ExactImage!.OriginalJobId));
        Assert.Null(replay.Snapshots);
        Assert.All(replay.Phases, phase => Assert.Equal("include demo\n", Assert.Single(phase.ScenarioFiles).Text));
        Assert.Equal([_zedCommit, _underTest], replay.Phases.Select(p => ((GitModuleSource)Assert.Single(p.Modules)).CommitSha));
    }

    [Fact]
    public void Replay_CommitGoneFromTheMirror_NamesTheModuleAndTheCommit()
    {
        (_, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Deploy, null));
        string gone = new('e', 40);
        JobLockfile rewritten = lockfile with { ImageId = "sha256:0123", Modules = [lockfile.Modules[0] with { CommitSha = gone }] };

        ModuleSetException e = Assert.Throws<ModuleSetException>(() => _factory.Replay(Run(), Job(JobKind.Deploy, null), 7, rewritten));

        Assert.Contains($"Commit {gone} of module 'demo'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Replay_JobRanAWorkingCopy_RefusesNamingIt()
    {
        (_, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Deploy, null), new DirectoryModuleSource("demo", _repository));

        ModuleSetException e = Assert.Throws<ModuleSetException>(() => _factory.Replay(Run(), Job(JobKind.Deploy, null), 7, lockfile with { ImageId = "sha256:0123" }));

        Assert.Contains($"Job 7 ran module 'demo' from the working copy {_repository}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_JobUsedAPackageSnapshot_AsksForThatSnapshotExactly()
    {
        (_, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Upgrade, "zed"));
        JobLockfile used = lockfile with
        {
            ImageId = "sha256:0123",
            PackageSnapshotRelease = "2023.1",
            PackageSnapshotImage = "cirunner/release:2023.1",
            PackageSnapshot = new JobPackageSnapshotRecord("2023.1", "volume", "sha256:snapshot", 558),
        };

        (JobSpec replay, _) = _factory.Replay(Run(), Job(JobKind.Upgrade, "zed"), 7, used);

        Assert.Equal(("2023.1", "cirunner/release:2023.1", "sha256:snapshot"), (replay.PackageSnapshot!.Release, replay.PackageSnapshot.ReleaseImage, replay.PackageSnapshot.ExpectedId));
    }

    [Fact]
    public void Replay_ImageNeverRecorded_Refuses()
    {
        (_, JobLockfile lockfile) = _factory.Create(Run(), Job(JobKind.Deploy, null));

        ModuleSetException e = Assert.Throws<ModuleSetException>(() => _factory.Replay(Run(), Job(JobKind.Deploy, null), 7, lockfile));

        Assert.Contains("Job 7 never started a container", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Steps are records holding lists, which compare by reference: this compares what a step runs.</summary>
    private sealed class StepComparer : IEqualityComparer<CiRunner.Matrix.StepDefinition>
    {
        public bool Equals(CiRunner.Matrix.StepDefinition? x, CiRunner.Matrix.StepDefinition? y) =>
            x is not null && y is not null && (x.Kind, x.Name, x.Timeout, x.Noop) == (y.Kind, y.Name, y.Timeout, y.Noop) && x.Command.SequenceEqual(y.Command);

        public int GetHashCode(CiRunner.Matrix.StepDefinition obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }

    private RunRecord Run() =>
        new(1, RunCause.Manual, "demo", "master", _underTest, null, null, "test", TempDatabase.Start, null, null, null);

    private static JobRecord Job(JobKind kind, string? from, string scenario = "s") =>
        new(1, 1, "key", kind, "2023.1", from, scenario, 0, JobState.Queued, null, null, null, TempDatabase.Start, null, null, null, null, 1);
}
