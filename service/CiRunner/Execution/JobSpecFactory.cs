using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;

namespace CiRunner.Execution;

/// <summary>Turns a stored job into what the executor runs: image, module set at exact commits, scenario files and steps.</summary>
public sealed class JobSpecFactory
{
    private readonly CiRunnerSettings _settings;
    private readonly ModuleSetResolver _resolver;

    public JobSpecFactory(CiRunnerSettings settings, ModuleSetResolver resolver)
    {
        _settings = settings;
        _resolver = resolver;
    }

    /// <summary>The job's spec and its lockfile (the exact commit of every module).</summary>
    /// <exception cref="ModuleSetException">The release, scenario or a module cannot be resolved; the message says which and what to do.</exception>
    public (JobSpec Spec, IReadOnlyList<JobModuleRecord> Lockfile) Create(RunRecord run, JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(job);
        Release release = _settings.FindRelease(job.Release)
            ?? throw new ModuleSetException($"Release '{job.Release}' is no longer configured (Releases); the job cannot run.");
        Scenario scenario = _settings.FindScenario(job.Scenario)
            ?? throw new ModuleSetException($"Scenario '{job.Scenario}' is no longer in {_settings.Service.ScenariosDirectory}; the job cannot run.");
        if (job.Kind != JobKind.Deploy)
        {
            throw new ModuleSetException($"Job {job.Id} is a {job.Kind.ToString().ToLowerInvariant()} cell; this build runs deploy cells only.");
        }

        ResolvedModuleSet modules = _resolver.Resolve(release.Puppetfile, _settings.FindModule(run.Module), run.CommitSha);
        string manifest = Path.GetFileName(scenario.ManifestPath);
        var phase = new JobPhase(
            "deploy",
            modules.Sources,
            [new ScenarioFile(manifest, scenario.ManifestPath)],
            manifest,
            scenario.Steps);
        var spec = new JobSpec(
            run.Id,
            job.Id,
            _settings.Service.InstanceId,
            release.Image,
            release.Name,
            [phase],
            _settings.Docker.JobTimeout,
            _settings.DataPaths.JobLogFile(run.Id, job.Id),
            ContainerLimits.FromOptions(_settings.Docker));
        return (spec, modules.Lockfile);
    }
}
