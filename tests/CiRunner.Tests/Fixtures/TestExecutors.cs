using CiRunner.Execution;
using Docker.DotNet;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The executor as the service wires it (real package snapshot lookup on the same engine), with what a test varies
/// said out loud: which images it can build, and what is known about booting systemd.
/// </summary>
public static class TestExecutors
{
    public static DockerJobExecutor Create(
        IDockerClient docker, ILogger<DockerJobExecutor> logger, IImageProvisioner? images = null, ISystemdHostStatus? systemd = null, bool phaseSnapshots = false) =>
        new(
            docker,
            TimeProvider.System,
            logger,
            images ?? NoRecipes.Instance,
            new ExecutorOptions(),
            new DockerPackageSnapshots(docker, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<DockerPackageSnapshots>.Instance),
            systemd ?? NotProbed.Instance,
            phaseSnapshots ? new PhaseSnapshotter(new PhaseSnapshotImages(docker), new CiRunner.Configuration.SnapshotOptions(), logger) : null);

    /// <summary>An engine with no image recipes: a missing image is an error naming how to get it.</summary>
    public sealed class NoRecipes : IImageProvisioner
    {
        public static readonly NoRecipes Instance = new();

        public Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken) =>
            Task.FromResult<ImageBuildOutcome?>(null);

        public Task<bool> ProvisionSnapshotAsync(string release, CancellationToken cancellationToken) => Task.FromResult(false);
    }

    /// <summary>Before the start-up probe has booted systemd (or where no image has it): nothing known.</summary>
    public sealed class NotProbed : ISystemdHostStatus
    {
        public static readonly NotProbed Instance = new();

        public SystemdProbeResult? Last => null;
    }
}
