using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>A container an earlier process left behind, now removed.</summary>
/// <param name="ContainerId">The removed container.</param>
/// <param name="RunId">Its run, from the <see cref="ContainerLabels.Run"/> label; null if the label is missing or malformed.</param>
/// <param name="JobId">Its job, from the <see cref="ContainerLabels.Job"/> label; null if the label is missing or malformed.</param>
/// <param name="State">The container's state when it was found (<c>running</c>, <c>exited</c>, ...).</param>
public sealed record ReapedContainer(string ContainerId, long? RunId, long? JobId, string State);

/// <summary>
/// Removes the containers an earlier process of the same service instance left (it crashed or was killed
/// mid-job), found by the instance label. Call it once at start, before this process runs any job: every
/// container of the instance is an orphan then. The caller marks the returned jobs <c>interrupted</c>.
/// </summary>
public sealed partial class OrphanReaper
{
    private readonly EngineProbe _probe;
    private readonly IDockerClient _docker;
    private readonly ILogger<OrphanReaper> _logger;

    /// <param name="probe">Lists the engine's containers (without loading Docker.DotNet while there is nothing to remove).</param>
    /// <param name="docker">Removes them.</param>
    /// <param name="logger">Logger.</param>
    public OrphanReaper(EngineProbe probe, IDockerClient docker, ILogger<OrphanReaper> logger)
    {
        _probe = probe;
        _docker = docker;
        _logger = logger;
    }

    /// <summary>The same reaper on another engine (a lost instance's own, see <see cref="ClusterWatch"/>).</summary>
    public OrphanReaper On(EngineProbe probe, IDockerClient docker) => new(probe, docker, _logger);

    /// <summary>Removes (with force) every container labelled with <paramref name="instanceId"/>; returns what it removed.</summary>

    public Task<IReadOnlyList<ReapedContainer>> ReapAsync(string instanceId, CancellationToken cancellationToken) =>
        ReapAsync(instanceId, keep: null, cancellationToken);

    /// <summary>
    /// Like <see cref="ReapAsync(string, CancellationToken)"/>, but leaves the containers <paramref name="keep"/> claims
    /// (a running process's own jobs), so it can run while jobs run.
    /// </summary>
    public async Task<IReadOnlyList<ReapedContainer>> ReapAsync(string instanceId, Func<ReapedContainer, bool>? keep, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        IReadOnlyList<LabelledContainer> containers = await _probe.ListAsync(
            [$"{ContainerLabels.Managed}={ContainerLabels.ManagedValue}", $"{ContainerLabels.Instance}={instanceId}"], cancellationToken);
        var reaped = new List<ReapedContainer>();
        foreach (LabelledContainer container in containers)
        {
            var orphan = new ReapedContainer(container.Id, Label(container, ContainerLabels.Run), Label(container, ContainerLabels.Job), container.State);
            if (keep?.Invoke(orphan) == true)
            {
                continue;
            }

            await RemoveAsync(container.Id, cancellationToken);
            LogReaped(_logger, orphan.ContainerId, orphan.RunId, orphan.JobId, orphan.State);
            reaped.Add(orphan);
        }

        return reaped;
    }

    private async Task RemoveAsync(string containerId, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Containers.RemoveContainerAsync(containerId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            // Gone between the listing and the removal: still an orphan whose job must be marked.
        }
        catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Its auto-removal is already in progress (the earlier process killed it just before it died).
        }
    }

    private static long? Label(LabelledContainer container, string name) =>
        container.Labels.TryGetValue(name, out string? text)
        && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed orphaned container {ContainerId} of job {JobId} of run {RunId} (was {State})")]
    private static partial void LogReaped(ILogger logger, string containerId, long? runId, long? jobId, string state);
}
