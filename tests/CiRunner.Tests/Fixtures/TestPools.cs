using CiRunner.Configuration;
using CiRunner.Execution;
using Docker.DotNet;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Fixtures;

/// <summary>An engine pool as the service wires it (real clients and monitors; executors without recipes), for tests of its parts.</summary>
public static class TestPools
{
    public static EnginePool Create(IEnumerable<EngineOptions> engines, JobQueue queue, RunningJobs running, string instanceId = "cirunner", TimeSpan? drainAfter = null)
    {
        ArgumentNullException.ThrowIfNull(engines);
        var pool = engines.Select(options =>
        {
            IDockerClient client = DockerClientFactory.Create(options);
            var probe = new EngineProbe(options, client);
            var monitor = new DockerEngineMonitor(probe, TimeProvider.System, NullLogger<DockerEngineMonitor>.Instance, name: options.Name);
            return new JobEngine(options, client, monitor, TestExecutors.Create(client, NullLogger<DockerJobExecutor>.Instance), new OrphanReaper(probe, client, NullLogger<OrphanReaper>.Instance), owned: [probe]);
        }).ToList();
        return new EnginePool(pool, queue, running, Options.Create(new ServiceOptions { InstanceId = instanceId }), TimeProvider.System, NullLogger<EnginePool>.Instance, drainAfter);
    }

    /// <summary>The pool of a loaded configuration (<see cref="DockerOptions.Pool"/>).</summary>
    public static EnginePool Create(CiRunnerSettings settings, JobQueue queue, RunningJobs running)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Create(settings.Docker.Pool(), queue, running, settings.Service.InstanceId);
    }
}
