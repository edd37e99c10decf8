using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>What booting systemd in a throwaway container showed.</summary>
/// <param name="Works">systemd reached running or degraded.</param>
/// <param name="Image">The image the probe booted.</param>
/// <param name="Detail">The state systemd reached and how long it took, or why it did not come up (with the journal's tail).</param>
public sealed record SystemdProbeResult(bool Works, string Image, string Detail)
{
    /// <summary>One line for logs and <c>validate</c>, with what to do when it did not work.</summary>
    public string Describe() => Works
        ? $"systemd boots in an unprivileged container on this engine ({Detail}, image {Image})"
        : $"this engine cannot boot systemd in an unprivileged container (image {Image}): {Detail}. " + HostRequirements;

    /// <summary>What the engine's host needs; the documentation says more.</summary>
    public const string HostRequirements =
        "A cgroup v1 host needs the name=systemd hierarchy at /sys/fs/cgroup/systemd (mounted read-only into job containers); " +
        "a cgroup v2 host needs Docker 20.10 or newer for a private cgroup namespace (see docs/configuration.md, \"Jobs that boot systemd\"). " +
        "Releases and scenarios with Init systemd cannot run until then";
}

/// <summary>
/// Boots systemd the way job containers do, in a throwaway container, and says whether it came up: so that a host that
/// cannot do it is told at <c>validate</c> and at <c>serve</c>'s start, not by jobs that hang in their boot.
/// </summary>
public sealed class SystemdHostProbe
{
    /// <summary>The label that marks probe containers (besides <see cref="ContainerLabels.Managed"/>).</summary>
    public const string ProbeLabel = "cirunner.probe";

    // Bound of the create request and of the removal (well under a second on an engine that answers).
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(30);

    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly string? _instanceId;

    /// <param name="docker">The engine jobs run on.</param>
    /// <param name="timeProvider">Clock for the bound.</param>
    /// <param name="instanceId">The service instance, so that its reaper removes a probe container a crash left; null for none.</param>
    public SystemdHostProbe(IDockerClient docker, TimeProvider timeProvider, string? instanceId)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _instanceId = instanceId;
    }

    /// <summary>
    /// Boots the first of <paramref name="candidateImages"/> the engine has; null when it has none of them (nothing can
    /// be said before an image with systemd is built). Bounded by <paramref name="timeout"/>; the container goes on every path.
    /// </summary>
    public async Task<SystemdProbeResult?> ProbeAsync(IEnumerable<string> candidateImages, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidateImages);
        string? image = null;
        foreach (string candidate in candidateImages.Distinct(StringComparer.Ordinal))
        {
            if ((await ImageBuilder.InspectAsync(_docker, candidate, cancellationToken)).ImageId is not null)
            {
                image = candidate;
                break;
            }
        }

        if (image is null)
        {
            return null;
        }

        string cgroupVersion = await SystemdContainer.CgroupVersionAsync(_docker, cancellationToken);
        var parameters = new CreateContainerParameters
        {
            Image = image,
            Labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
                [ProbeLabel] = "systemd",
            },
            StopSignal = "SIGKILL",
            HostConfig = new HostConfig
            {
                NetworkMode = "none",
                AutoRemove = true,
                Memory = 256L * 1024 * 1024,
                MemorySwap = 256L * 1024 * 1024,
                SecurityOpt = ["no-new-privileges"],
            },
        };
        if (_instanceId is not null)
        {
            parameters.Labels[ContainerLabels.Instance] = _instanceId;
        }

        SystemdContainer.Configure(parameters, cgroupVersion);

        long started = _timeProvider.GetTimestamp();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(timeout + TimeSpan.FromSeconds(15));
        var container = new ManagedContainer(_docker, _timeProvider, CleanupTimeout);
        try
        {
            string id = await container.CreateAsync(parameters);
            bound.Token.ThrowIfCancellationRequested();
            await container.StartAsync(bound.Token);
            ContainerExecCreateResponse exec = await _docker.Exec.CreateContainerExecAsync(
                id,
                new ContainerExecCreateParameters
                {
                    Cmd = [StepScript.Shell, "-c", SystemdContainer.BootFunction(timeout) + "boot; exit $boot_rc"],
                    AttachStdout = true,
                    AttachStderr = true,
                },
                bound.Token);
            using MultiplexedStream stream = await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), bound.Token);
            (string stdout, string stderr) = await stream.ReadOutputToEndAsync(bound.Token);
            long? exitCode = (await _docker.Exec.InspectContainerExecAsync(exec.ID, bound.Token)).ExitCode;
            string seconds = _timeProvider.GetElapsedTime(started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
            string output = (stdout + stderr).Trim();
            return exitCode == 0
                ? new SystemdProbeResult(true, image, $"{FirstLine(output)} after {seconds} s")
                : new SystemdProbeResult(false, image, $"it did not come up within {timeout.TotalSeconds:F0} s; {OneLine(output)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new SystemdProbeResult(false, image, $"no answer from the container within {(timeout + TimeSpan.FromSeconds(15)).TotalSeconds:F0} s");
        }
        catch (DockerApiException ex)
        {
            return new SystemdProbeResult(false, image, $"the engine refused the container: {(int)ex.StatusCode} {ex.ResponseBody?.Trim()}");
        }
        finally
        {
            // Removed at once rather than killed: the caller may look for leftovers right after the answer.
            await container.RemoveAsync();
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static string OneLine(string text)
    {
        string[] lines = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return string.Join(" | ", lines.Take(1).Concat(lines.Skip(1).TakeLast(8)));
    }
}
