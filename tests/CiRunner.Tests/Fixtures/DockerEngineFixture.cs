using CiRunner.Execution;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The real Docker engine and a real Puppet image for executor tests. The image is built once per machine by
/// <see cref="BaseImageBuilder"/> (debootstrap + Puppet, about a minute) and reused while its recipe hash label
/// matches, so reruns start in well under a second. An unreachable engine fails the tests with a message
/// saying how to start one: these tests are the executor's proof, so they never skip silently.
/// </summary>
public sealed class DockerEngineFixture : IAsyncLifetime
{
    /// <summary>Overrides the engine endpoint (default: the local socket).</summary>
    public const string EndpointVariable = "CIRUNNER_TEST_DOCKER_ENDPOINT";

    // Several collections share the fixture type to run in parallel; the image is built once for all of them.
    private static readonly SemaphoreSlim ImageLock = new(1, 1);
    private static ImageBuildOutcome? s_image;

    public IDockerClient Docker { get; private set; } = null!;

    /// <summary>The engine every Docker test uses: <see cref="EndpointVariable"/>, else the local socket.</summary>
    public static string EngineEndpoint { get; } = Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } endpoint
        ? endpoint
        : "unix:///var/run/docker.sock";

    public string Endpoint { get; } = EngineEndpoint;

    /// <summary>The Puppet image (Debian 12 minbase + Puppet 7).</summary>
    public string PuppetImage { get; private set; } = "";

    public string PuppetImageId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Docker = new DockerClientBuilder().WithEndpoint(new Uri(Endpoint)).Build();
        try
        {
            using var ping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await Docker.System.PingAsync(ping.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or DockerApiException)
        {
            throw new InvalidOperationException(
                $"The executor tests need a Docker engine at {Endpoint} ({EndpointVariable} overrides it), but it does not answer: {ex.Message}. " +
                "Start one with: nohup dockerd --bridge=none --iptables=false >/tmp/dockerd.log 2>&1 &",
                ex);
        }

        ImageBuildOutcome image = await PuppetImageAsync(Docker);
        PuppetImage = image.Tag;
        PuppetImageId = image.ImageId!;
    }

    /// <summary>
    /// The Puppet image (<see cref="BaseImageRecipe.Default"/>), built once per test process. Every fixture that may
    /// build it (the release images' FROM) waits for this first: two builds of one tag at once, on a machine that
    /// has neither, would each tag their own image, and the first one's id would be stale for the tests holding it.
    /// </summary>
    public static async Task<ImageBuildOutcome> PuppetImageAsync(IDockerClient docker)
    {
        await ImageLock.WaitAsync();
        try
        {
            if (s_image is null)
            {
                var builder = new BaseImageBuilder(docker, TimeProvider.System, NullLogger<BaseImageBuilder>.Instance);
                ImageBuildOutcome result = await builder.BuildAsync(BaseImageRecipe.Default, force: false, output: null, CancellationToken.None);
                if (!result.Succeeded)
                {
                    throw new InvalidOperationException(
                        $"Building the test Puppet image {result.Tag} failed: {result.Error}\n{string.Join('\n', result.OutputTail)}");
                }

                s_image = result;
            }

            return s_image;
        }
        finally
        {
            ImageLock.Release();
        }
    }

    /// <summary>A service instance id no other test uses, so each test's containers are found by its own label.</summary>
    public static string NewInstanceId() => $"test-{Guid.NewGuid():N}";

    /// <summary>Every container (running or not) carrying the instance label.</summary>
    public async Task<IList<ContainerListResponse>> ContainersOfInstanceAsync(string instanceId)
    {
        var parameters = new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Instance}={instanceId}"] = true },
            },
        };
        return await Docker.Containers.ListContainersAsync(parameters);
    }

    /// <summary>
    /// The instance's containers that are still there after a bounded wait: the executor returns once a container
    /// is killed, and the engine's auto-remove finishes a moment later.
    /// </summary>
    public Task<IList<ContainerListResponse>> ContainersLeftAsync(string instanceId) =>
        // The engine's auto-removal can take tens of seconds while other jobs write images (phase snapshots) on a busy disk.
        Eventually.LastValueAsync(() => ContainersOfInstanceAsync(instanceId), left => left.Count == 0, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));

    /// <summary>
    /// Removes (with force) whatever containers of the instance are still there: the cleanup of a test that kills a
    /// service process, so a failing assertion before the service's own recovery leaves nothing on the engine.
    /// </summary>
    public async Task RemoveContainersOfInstanceAsync(string instanceId)
    {
        foreach (ContainerListResponse container in await ContainersOfInstanceAsync(instanceId))
        {
            try
            {
                await Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }
            catch (DockerContainerNotFoundException)
            {
                // Auto-removed meanwhile.
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // The engine is auto-removing it right now.
            }
        }
    }

    /// <summary>The phase snapshots (images) the instance made and still has.</summary>
    public async Task<IReadOnlyList<string>> PhaseSnapshotsOfInstanceAsync(string instanceId) =>
        (await new PhaseSnapshotImages(Docker).SizedAsync(instanceId, CancellationToken.None)).Select(s => s.Image.ID).ToList();

    /// <summary>Removes the instance's phase snapshots: what a test that ran upgrade or rollback cells leaves behind otherwise.</summary>
    public Task RemovePhaseSnapshotsOfInstanceAsync(string instanceId) =>
        new PhaseSnapshotImages(Docker).RemoveAllAsync(instanceId, which: null, CancellationToken.None);

    public Task DisposeAsync()
    {
        Docker.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>Puppet jobs through the executor; runs in parallel with the other Docker collections.</summary>
[CollectionDefinition(Name)]
public sealed class DockerPuppetGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-puppet";
}

/// <summary>Failing Puppet jobs; beside <see cref="DockerPuppetGroup"/> so the two Puppet-heavy groups share the cores.</summary>
[CollectionDefinition(Name)]
public sealed class DockerPuppetFailuresGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-puppet-failures";
}

/// <summary>Timeouts, cancellation, errors and reaping.</summary>
[CollectionDefinition(Name)]
public sealed class DockerLifecycleGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-lifecycle";
}

/// <summary>Image builds.</summary>
[CollectionDefinition(Name)]
public sealed class DockerImagesGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-images";
}

/// <summary>Jobs that boot systemd as PID 1.</summary>
[CollectionDefinition(Name)]
public sealed class DockerSystemdGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-systemd";
}
