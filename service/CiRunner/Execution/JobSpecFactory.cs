using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;

namespace CiRunner.Execution;

/// <summary>Turns a stored job into what the executor runs: image, module set at exact commits, scenario files and steps.</summary>
/// <remarks>
/// A deploy job has one phase. An upgrade job runs in one container started from the from-release's image: <c>deploy</c>
/// (the from-release's module set as its Puppetfile pins it), then <c>upgrade</c> (the target release's module set with the commit under test, after the target's
/// <c>UpgradePrepareCommand</c>); a rollback job adds <c>rollback</c> (the from-release's module set again). Every
/// phase runs the scenario's steps and ends with its <c>verify</c> steps; the <c>seed</c> steps run once, in the
/// deploy phase between the two, so the workload they make is verified after deploy, upgrade and rollback alike.
/// The container's network is the scenario's <c>network</c>, else <c>Docker:NetworkMode</c>.
/// </remarks>
public sealed class JobSpecFactory
{
    /// <summary>The lockfile's ref of a module copied in from a working copy (<c>cirunner run --ref PATH</c>).</summary>
    public const string WorkingCopyRef = "working copy";

    /// <summary>The step that runs the target's <c>UpgradePrepareCommand</c>.</summary>
    public const string UpgradePrepareStep = "upgrade-prepare";

    /// <summary>The step that moves the node onto the target's package snapshot.</summary>
    public const string UpgradePackagesStep = "upgrade-packages";

    /// <summary>A release upgrade of a node's packages takes minutes (about five on two cores for a keystone and glance node).</summary>
    public static readonly TimeSpan UpgradePackagesTimeout = TimeSpan.FromMinutes(30);

    private readonly CiRunnerSettings _settings;
    private readonly ModuleSetResolver _resolver;
    private readonly ScenarioCatalog _scenarios;

    /// <param name="settings">Releases, modules, Docker limits and paths.</param>
    /// <param name="resolver">Resolves module sets to exact commits.</param>
    /// <param name="scenarios">The live scenarios (reloaded as files change).</param>
    public JobSpecFactory(CiRunnerSettings settings, ModuleSetResolver resolver, ScenarioCatalog scenarios)
    {
        _settings = settings;
        _resolver = resolver;
        _scenarios = scenarios;
    }

    /// <summary>
    /// Whether a queued job of <paramref name="cell"/> boots systemd, as its spec will say; false when its release or
    /// scenario is gone (the job then ends before any container).
    /// </summary>
    public bool BootsSystemd(QueuedCell cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (_settings.FindRelease(cell.Release) is not { } release || _scenarios.Find(cell.Scenario) is not { } scenario)
        {
            return false;
        }

        Release? from = cell.FromRelease is null ? null : _settings.FindRelease(cell.FromRelease);
        return scenario.InitOn(release, from) == InitSystem.Systemd;
    }

    /// <summary>The job's spec and its lockfile (the exact commit of every module, the scenario's text, the steps), made together so that they agree.</summary>
    /// <param name="run">The job's run: the module under test and its commit.</param>
    /// <param name="job">The stored job (its cell).</param>
    /// <param name="workingCopy">
    /// For <c>cirunner run --ref PATH</c>: the module under test comes from this directory as it is (uncommitted
    /// work included) instead of the run's commit; its lockfile entry names the directory.
    /// </param>
    /// <exception cref="ModuleSetException">The release, scenario or a module cannot be resolved; the message says which and what to do.</exception>
    /// <param name="pin">
    /// For the first step of <c>cirunner bisect --dependency</c>: that dependency runs the pinned commit wherever it is
    /// not the module under test.
    /// </param>
    public (JobSpec Spec, JobLockfile Lockfile) Create(RunRecord run, JobRecord job, DirectoryModuleSource? workingCopy = null, BisectPin? pin = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(job);
        Release release = _settings.FindRelease(job.Release)
            ?? throw new ModuleSetException($"Release '{job.Release}' is no longer configured (Releases); the job cannot run.");
        Scenario scenario = _scenarios.Find(job.Scenario)
            ?? throw new ModuleSetException($"Scenario '{job.Scenario}' is no longer in {_settings.Service.ScenariosDirectory}; the job cannot run.");
        TrackedModule? moduleUnderTest = _settings.FindModule(run.Module);
        string manifest = Path.GetFileName(scenario.ManifestPath);
        string scenarioFolder = Path.GetDirectoryName(scenario.SourcePath)!;
        // Read once, here: the job copies in exactly the text its lockfile keeps, even if a file changes before its container starts.
        ScenarioFile[] files =
        [
            new ScenarioFile(manifest, scenario.ManifestPath) { Text = ReadText(scenario.ManifestPath) },
            .. scenario.Files.Select(f => new ScenarioFile(Path.GetRelativePath(scenarioFolder, f).Replace('\\', '/'), f) { Text = ReadText(f) }),
        ];
        var phases = new List<JobPhase>();
        var lockfile = new List<JobModuleRecord>();
        void AddPhase(string name, Puppetfile puppetfile, bool underTest, IReadOnlyList<StepDefinition> steps)
        {
            if (underTest && workingCopy is not null)
            {
                // The working copy's commit may exist nowhere else, so the rest of the set resolves as the Puppetfile says.
                ResolvedModuleSet pinned = _resolver.Resolve(puppetfile, null, null);
                if (pinned.Sources.All(m => m.Name != workingCopy.Name))
                {
                    throw new ModuleSetException($"Module '{workingCopy.Name}' is under test but not in {puppetfile.Path}; add a 'mod' entry for it.");
                }

                phases.Add(new JobPhase(name, pinned.Sources.Select(m => m.Name == workingCopy.Name ? workingCopy : m).ToList(), files, manifest, steps));
                lockfile.AddRange(pinned.Lockfile.Select(m => m.Module == workingCopy.Name
                    ? new JobModuleRecord(m.Module, workingCopy.DirectoryPath, WorkingCopyRef, run.CommitSha, name)
                    : m with { Phase = name }));
                return;
            }

            ResolvedModuleSet modules = underTest ? _resolver.Resolve(puppetfile, moduleUnderTest, run.CommitSha) : _resolver.Resolve(puppetfile, null, null);
            if (pin is not null && !(underTest && pin.Module == run.Module))
            {
                modules = Pinned(modules, pin, name);
            }

            phases.Add(new JobPhase(name, modules.Sources, files, manifest, steps));
            lockfile.AddRange(modules.Lockfile.Select(m => m with { Phase = name }));
        }

        IReadOnlyList<StepDefinition> deploySteps = [.. scenario.Steps, .. scenario.Seed, .. scenario.Verify];
        Release image = release;
        InitSystem init = scenario.InitOn(release);
        PackageSnapshotSource? snapshot = null;
        IReadOnlyList<StepDefinition> laterSteps = [.. scenario.Steps, .. scenario.Verify];
        if (job.Kind == JobKind.Deploy)
        {
            AddPhase(PhaseNames.Deploy, release.Puppetfile, underTest: true, deploySteps);
        }
        else
        {
            Release from = (job.FromRelease is null ? null : _settings.FindRelease(job.FromRelease))
                ?? throw new ModuleSetException($"Release '{job.FromRelease}' to upgrade from is no longer configured (Releases); the job cannot run.");

            // One container holds both releases, as an operator's node does: it starts from the from-release's image
            // and module set, and the target's UpgradePrepareCommand (switching package repositories, upgrading
            // packages) is what moves it to the target release before the target's module set is applied.
            image = from;

            init = scenario.InitOn(release, from);
            AddPhase(PhaseNames.Deploy, from.Puppetfile, underTest: false, deploySteps);

            // A target with a package snapshot moves the node's packages onto it first, offline, as an operator's release
            // upgrade does; a configured UpgradePrepareCommand replaces that step (and still finds the snapshot mounted).
            snapshot = release.PackageSnapshot ? new PackageSnapshotSource(release.Name, release.Image) : null;
            StepDefinition? prepare = release.UpgradePrepareCommand.Count > 0
                ? new StepDefinition(StepKind.Command, UpgradePrepareStep, release.UpgradePrepareCommand, ScenarioLoader.DefaultCommandTimeout)
                : snapshot is not null
                    ? new StepDefinition(StepKind.Command, UpgradePackagesStep, ["/bin/sh", PackageSnapshotSource.UpgradeScript], UpgradePackagesTimeout)
                    : null;
            IReadOnlyList<StepDefinition> upgradeSteps = prepare is null ? laterSteps : [prepare, .. laterSteps];
            AddPhase(PhaseNames.Upgrade, release.Puppetfile, underTest: true, upgradeSteps);
            if (job.Kind == JobKind.Rollback)
            {
                AddPhase(PhaseNames.Rollback, from.Puppetfile, underTest: false, laterSteps);
            }
        }

        var spec = new JobSpec(
            run.Id,
            job.Id,
            _settings.Service.InstanceId,
            image.Image,
            image.Name,
            phases,
            _settings.Docker.JobTimeout,
            _settings.DataPaths.JobLogFile(run.Id, job.Id),
            ContainerLimits.FromOptions(_settings.Docker) with { NetworkMode = scenario.Network ?? _settings.Docker.NetworkMode })
        {
            Init = init,
            BootTimeout = _settings.Docker.BootTimeout,
            Attempt = job.Attempt,
            PackageSnapshot = snapshot,
            Snapshots = workingCopy is null ? SnapshotPolicy(job, release, scenario) : null,
        };
        ScenarioText[] texts =
        [
            ScenarioText.Of(Path.GetFileName(scenario.SourcePath), ScenarioTextRole.Scenario, ReadText(scenario.SourcePath)),
            .. files.Select((f, i) => ScenarioText.Of(f.RelativePath, i == 0 ? ScenarioTextRole.Manifest : ScenarioTextRole.File, f.Text!)),
        ];
        return (spec, LockfileOf(scenario.Name, spec, lockfile, texts));
    }

    /// <summary>
    /// The spec and lockfile of a stored job: a replay's and a flake re-run's from the lockfile they run again, any other
    /// job's from today's configuration.
    /// </summary>
    /// <param name="run">The job's run.</param>
    /// <param name="job">The stored job.</param>
    /// <param name="jobs">Where a replayed job's lockfile is read.</param>
    /// <param name="workingCopy">As for <see cref="Create"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ModuleSetException">As for <see cref="Create"/> and <see cref="Replay"/>, or the replayed job has no lockfile.</exception>
    public async Task<(JobSpec Spec, JobLockfile Lockfile)> ForJobAsync(
        RunRecord run, JobRecord job, JobStore jobs, DirectoryModuleSource? workingCopy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(jobs);
        BisectPin? pin = run.Cause == RunCause.Bisect ? await jobs.GetBisectPinAsync(job.Id, cancellationToken) : null;
        if ((job.ReplayOf ?? job.RerunOf) is not { } originalId)
        {
            return Create(run, job, workingCopy, pin);
        }

        JobLockfile original = await jobs.GetLockfileAsync(originalId, cancellationToken)
            ?? throw new ModuleSetException(NoLockfile(originalId));

        // A bisect step is the red job's replay with one module's commit changed: its lockfile says which it ran.
        if (pin is not null)
        {
            original = original with { Modules = original.Modules.Select(pin.Apply).ToList() };
        }

        return Replay(run, job, originalId, original);
    }

    /// <summary>The module set with <paramref name="pin"/>'s module at its commit, from the same repositories.</summary>
    private ResolvedModuleSet Pinned(ResolvedModuleSet modules, BisectPin pin, string phase)
    {
        var lockfile = modules.Lockfile.Select(pin.Apply).ToList();
        var sources = modules.Sources.Select((source, i) => source.Name == pin.Module ? _resolver.ResolveExact(lockfile[i] with { Phase = phase }) : source).ToList<ModuleSource>();
        return new ResolvedModuleSet(sources, lockfile);
    }

    /// <summary>Why a job without a whole lockfile cannot be replayed.</summary>
    public static string NoLockfile(long jobId) =>
        $"Job {jobId} has no complete lockfile (it never started, or it ran before CiRunner kept scenario texts and steps), so it cannot be replayed exactly; run its cell with cirunner run instead.";

    /// <summary>Why a job that never started a container cannot be replayed.</summary>
    public static string NeverStarted(long jobId) =>
        $"Job {jobId} never started a container, so the image it ran is not known; it cannot be replayed.";

    /// <summary>
    /// The spec of a replay: <paramref name="job"/> runs the cell of <paramref name="originalJobId"/> again from its
    /// lockfile alone: the same commits from the module mirrors, the same image id, the same scenario text and steps.
    /// Today's configuration gives only what is not part of a result: the resource limits, timeouts and paths.
    /// </summary>
    /// <param name="run">The replay's run.</param>
    /// <param name="job">The replay's job.</param>
    /// <param name="originalJobId">The job replayed.</param>
    /// <param name="original">That job's lockfile.</param>
    /// <exception cref="ModuleSetException">Its image was never recorded, or a commit is gone from the mirrors; the message says which and how to bring it back.</exception>
    public (JobSpec Spec, JobLockfile Lockfile) Replay(RunRecord run, JobRecord job, long originalJobId, JobLockfile original)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(original);
        string imageId = original.ImageId
            ?? throw new ModuleSetException(NeverStarted(originalJobId));
        if (original.Modules.FirstOrDefault(m => m.Ref == WorkingCopyRef) is { } copied)
        {
            throw new ModuleSetException(
                $"Job {originalJobId} ran module '{copied.Module}' from the working copy {copied.GitUrl}, which no commit records; it cannot be replayed exactly (commit the change and cirunner run --ref it).");
        }

        ScenarioText? manifest = original.Files.FirstOrDefault(f => f.Role == ScenarioTextRole.Manifest);

        // The original's source paths are kept only to name the files in logs: the text comes from the lockfile.
        List<ScenarioFile> files = original.Files
            .Where(f => f.Role != ScenarioTextRole.Scenario)
            .Select(f => new ScenarioFile(f.Path, f.Path) { Text = f.Text })
            .ToList();
        var phases = original.Phases.Select(phase => new JobPhase(
            phase.Name,
            original.Modules.Where(m => m.Phase == phase.Name).Select(_resolver.ResolveExact).ToList<ModuleSource>(),
            files,
            phase.Manifest ?? manifest?.Path,
            phase.Steps)).ToList();
        var spec = new JobSpec(
            run.Id,
            job.Id,
            _settings.Service.InstanceId,
            imageId,
            null,
            phases,
            _settings.Docker.JobTimeout,
            _settings.DataPaths.JobLogFile(run.Id, job.Id),
            ContainerLimits.FromOptions(_settings.Docker) with { NetworkMode = original.NetworkMode })
        {
            Init = original.Init,
            BootTimeout = _settings.Docker.BootTimeout,
            Attempt = job.Attempt,
            PackageSnapshot = original.PackageSnapshotRelease is { } release && original.PackageSnapshotImage is { } releaseImage
                ? new PackageSnapshotSource(release, releaseImage) { ExpectedId = original.PackageSnapshot?.Id }
                : null,

            // Every phase runs here: a phase snapshot would be another job's run of it.
            Snapshots = null,
            ExactImage = new ExactImage(imageId, original.Image, original.ImageRelease, originalJobId),
        };
        return (spec, original);
    }

    private static JobLockfile LockfileOf(string scenario, JobSpec spec, IReadOnlyList<JobModuleRecord> modules, IReadOnlyList<ScenarioText> files) => new(
        scenario,
        modules,
        spec.Image,
        spec.Release,
        spec.Limits.NetworkMode,
        spec.Init,
        spec.PackageSnapshot?.Release,
        spec.PackageSnapshot?.ReleaseImage,
        spec.Phases.Select(p => new LockfilePhase(p.Name, p.Manifest, p.Steps)).ToList(),
        files);

    /// <summary>A scenario file's text; bytes that are not UTF-8 would not survive the store, so they are refused.</summary>
    private static string ReadText(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new ModuleSetException($"Scenario file '{path}' is not UTF-8 text; the job's lockfile keeps scenario files as text, so save it as UTF-8.");
        }
    }

    /// <summary>
    /// What the job does with phase snapshots: an upgrade or rollback job starts after its deepest phase already saved,
    /// and saves what a later cell could start from (its deploy phase; its upgrade phase when rollback cells exist or
    /// it is one). A deploy job's one phase is what it tests, so it always runs; it is saved only when upgrade cells
    /// start from this release with this scenario. Null with <c>Snapshots:Enabled</c> off.
    /// </summary>
    private PhaseSnapshotPolicy? SnapshotPolicy(JobRecord job, Release release, Scenario scenario)
    {
        if (!_settings.Snapshots.Enabled)
        {
            return null;
        }

        return job.Kind switch
        {
            JobKind.Deploy => scenario.Upgrade && _settings.Releases.Any(target => target.Name != release.Name && scenario.AppliesTo(target.Name)
                    && CellExpansion.UpgradeSources(target, _settings.Releases).Any(source => source.Name == release.Name))
                ? new PhaseSnapshotPolicy(Reuse: false, Save: [0])
                : null,
            JobKind.Upgrade => new PhaseSnapshotPolicy(Reuse: true, Save: _settings.Matrix.Rollback || scenario.Rollback ? [0, 1] : [0]),
            _ => new PhaseSnapshotPolicy(Reuse: true, Save: [0, 1]),
        };
    }
}
