using CiRunner.Configuration;
using CiRunner.Telemetry;
using Docker.DotNet;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

public static class ExecutionServiceCollectionExtensions
{
    /// <summary>
    /// The queue, the Docker executor and the dispatcher that connects them. Call it after <c>AddResultsStore</c>
    /// and before <c>AddScheduling</c>: hosted services start in registration order and stop in reverse, so the
    /// schema is migrated before <see cref="JobDispatcher"/> recovers, triggers stop firing before it drains, and the
    /// database is checkpointed only after the last job's end is written.
    /// </summary>
    public static IServiceCollection AddExecution(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // Made at the first job (or image build): the idle service asks the engine through EngineProbe alone.
        services.AddSingleton<IDockerClient>(_ => new LazyDockerClient(() => DockerClientFactory.Create(settings.Docker)));
        // The meter the queue and the jobs count on; AddTelemetry (the service, not `cirunner run`) also exports it.
        services.TryAddSingleton<CiRunnerTelemetry>();
        services.AddSingleton<JobQueue>();
        services.AddSingleton(sp => new EngineProbe(settings.Docker.Pool()[0], sp.GetRequiredService<IDockerClient>()));
        services.AddSingleton<OrphanReaper>();
        services.AddSingleton(sp => new DockerEngineMonitor(
            sp.GetRequiredService<EngineProbe>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<DockerEngineMonitor>>(),
            name: settings.Docker.Pool()[0].Name));
        services.AddSingleton(sp => CreatePool(sp, settings));
        services.AddSingleton<EngineReport>();
        services.AddSingleton<Results.IEngineReport>(sp => sp.GetRequiredService<EngineReport>());
        services.AddSingleton<ImageBuilder>();
        services.AddSingleton<BaseImageBuilder>();

        // Package snapshots: found by the executor (and validate) through IPackageSnapshots, built after release images.
        services.AddSingleton<DockerPackageSnapshots>();
        services.AddSingleton<IPackageSnapshots>(sp => sp.GetRequiredService<DockerPackageSnapshots>());
        services.AddSingleton<PackageSnapshotBuilder>();
        services.AddSingleton<IImageProvisioner>(sp => CreateReleaseImages(
            settings, sp.GetRequiredService<ImageBuilder>(), sp.GetRequiredService<BaseImageBuilder>(), sp.GetRequiredService<PackageSnapshotBuilder>()));
        services.AddSingleton<IJobExecutor>(sp => new DockerJobExecutor(
            sp.GetRequiredService<IDockerClient>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<DockerJobExecutor>>(),
            sp.GetRequiredService<IImageProvisioner>(),
            new ExecutorOptions(),
            sp.GetRequiredService<IPackageSnapshots>(),
            sp.GetRequiredService<SystemdHostCheck>(),
            CreatePhaseSnapshotter(settings, sp.GetRequiredService<IDockerClient>(), sp.GetRequiredService<ILoggerFactory>())));
        // The first engine's; the pool makes one for each other engine, and SystemdHostChecks runs them all.
        services.AddSingleton(sp => new SystemdHostCheck(
            settings.Docker.Pool()[0].Name,
            new SystemdHostProbe(sp.GetRequiredService<IDockerClient>(), sp.GetRequiredService<TimeProvider>(), settings.Service.InstanceId),
            settings,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SystemdHostCheck>>()));
        services.AddHostedService<SystemdHostChecks>();
        services.AddSingleton<ModuleSetResolver>();
        services.AddSingleton<JobSpecFactory>();
        services.AddSingleton<JobRecorder>();
        services.AddSingleton<DiskSpaceGuard>();
        services.AddSingleton<IJobStartGate>(sp => sp.GetRequiredService<DiskSpaceGuard>());

        // The dispatcher's parts; JobDispatcher is the one hosted service among them and runs them in order:
        // StartupRecovery first, then the dispatch loop (NextJobSource, JobRunner, JobCompletionWriter) beside ClusterWatch.
        services.AddSingleton<RunningJobs>();
        services.AddSingleton<StartupRecovery>();
        services.AddSingleton<ClusterWatch>();
        services.AddSingleton<PhaseSnapshotOrdering>();
        services.AddSingleton<PhaseSnapshotRetention>();
        services.AddSingleton<NextJobSource>();
        services.AddSingleton<JobCompletionWriter>();
        services.AddSingleton<BisectSignal>();
        services.AddSingleton<JobRunner>();
        services.AddSingleton<JobDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<JobDispatcher>());
        return services;
    }

    /// <summary>
    /// The pool's engines, each with its own client, monitor, image provisioning (copied from another engine, else
    /// built from its recipe) and executor. The first engine reuses the service's client and monitor: it is the one
    /// the command-line verbs use.
    /// </summary>
    private static EnginePool CreatePool(IServiceProvider sp, CiRunnerSettings settings)
    {
        TimeProvider time = sp.GetRequiredService<TimeProvider>();
        ILoggerFactory loggers = sp.GetRequiredService<ILoggerFactory>();
        EnginePool? pool = null;
        var engines = new List<JobEngine>();
        foreach ((int index, EngineOptions options) in settings.Docker.Pool().Index())
        {
            bool first = index == 0;
            IDockerClient client = first ? sp.GetRequiredService<IDockerClient>() : new LazyDockerClient(() => DockerClientFactory.Create(options));
            EngineProbe probe = first ? sp.GetRequiredService<EngineProbe>() : new EngineProbe(options, client);
            DockerEngineMonitor monitor = first
                ? sp.GetRequiredService<DockerEngineMonitor>()
                : new DockerEngineMonitor(probe, time, loggers.CreateLogger<DockerEngineMonitor>(), name: options.Name);
            DockerPackageSnapshots snapshots = first ? sp.GetRequiredService<DockerPackageSnapshots>() : new DockerPackageSnapshots(client, time, loggers.CreateLogger<DockerPackageSnapshots>());
            IImageProvisioner recipes = first ? sp.GetRequiredService<IImageProvisioner>() : CreateReleaseImages(
                settings,
                new ImageBuilder(client, time, loggers.CreateLogger<ImageBuilder>()),
                new BaseImageBuilder(client, time, loggers.CreateLogger<BaseImageBuilder>()),
                new PackageSnapshotBuilder(client, snapshots, time, loggers.CreateLogger<PackageSnapshotBuilder>()));
            string name = options.Name;
            var images = new PeerImageLoader(name, client, () => pool!.Engines.Where(e => e.Name != name), recipes, time, loggers.CreateLogger<PeerImageLoader>());
            SystemdHostCheck systemd = first ? sp.GetRequiredService<SystemdHostCheck>() : new SystemdHostCheck(
                name, new SystemdHostProbe(client, time, settings.Service.InstanceId), settings, time, loggers.CreateLogger<SystemdHostCheck>());
            var executor = new DockerJobExecutor(
                client, time, sp.GetRequiredService<ILogger<DockerJobExecutor>>(), images, new ExecutorOptions(), snapshots, systemd,
                CreatePhaseSnapshotter(settings, client, loggers));
            engines.Add(new JobEngine(options, client, monitor, executor, sp.GetRequiredService<OrphanReaper>().On(probe, client), owned: first ? [images] : [images, probe], systemd));
        }

        JobSpecFactory specs = sp.GetRequiredService<JobSpecFactory>();
        pool = new EnginePool(
            engines,
            sp.GetRequiredService<JobQueue>(),
            sp.GetRequiredService<RunningJobs>(),
            sp.GetRequiredService<IOptions<ServiceOptions>>(),
            time,
            sp.GetRequiredService<ILogger<EnginePool>>(),
            bootsSystemd: job => job.Cell is { } cell && specs.BootsSystemd(cell));
        return pool;
    }

    private static PhaseSnapshotter? CreatePhaseSnapshotter(CiRunnerSettings settings, IDockerClient client, ILoggerFactory loggers) =>
        settings.Snapshots.Enabled ? new PhaseSnapshotter(new PhaseSnapshotImages(client), settings.Snapshots, loggers.CreateLogger<PhaseSnapshotter>()) : null;

    private static ReleaseImages CreateReleaseImages(CiRunnerSettings settings, ImageBuilder images, BaseImageBuilder baseImages, PackageSnapshotBuilder snapshots) => new(
        settings.Releases.Select(release => new ReleaseOptions
        {
            Name = release.Name,
            Image = release.Image,
            Suite = release.Suite,
            Init = release.Init,
            PackageSnapshot = release.PackageSnapshot,
        }).ToList(),
        settings.Service.ImageRecipesDirectory,
        images,
        baseImages,
        BaseImageRecipe.ForSuite,
        new Dictionary<string, string>(StringComparer.Ordinal),
        snapshots);
}
