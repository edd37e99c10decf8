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
    private readonly IDockerClient _docker;
    private readonly ILogger<OrphanReaper> _logger;

    public OrphanReaper(IDockerClient docker, ILogger<OrphanReaper> logger)
    {
        _docker = docker;
        _logger = logger;
    }

    /// <summary>The same reaper on another engine (a lost instance's own, see <see cref="ClusterWatch"/>).</summary>
    public OrphanReaper On(IDockerClient docker) => new(docker, _logger);

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
        var parameters = new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>(StringComparer.Ordinal)
            {
                ["label"] = new Dictionary<string, bool>(StringComparer.Ordinal)
                {
                    [$"{ContainerLabels.Managed}={ContainerLabels.ManagedValue}"] = true,
                    [$"{ContainerLabels.Instance}={instanceId}"] = true,
                },
            },
        };

        IList<ContainerListResponse> containers = await _docker.Containers.ListContainersAsync(parameters, cancellationToken);
        var reaped = new List<ReapedContainer>();
        foreach (ContainerListResponse container in containers)
        {
            var orphan = new ReapedContainer(container.ID, Label(container, ContainerLabels.Run), Label(container, ContainerLabels.Job), container.State ?? "");
            if (keep?.Invoke(orphan) == true)
            {
                continue;
            }

            try
            {
                await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
            }
            catch (DockerContainerNotFoundException)
            {
                // Gone between the listing and the removal: still an orphan whose job must be marked.
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Its auto-removal is already in progress (the earlier process killed it just before it died).
            }

            LogReaped(_logger, orphan.ContainerId, orphan.RunId, orphan.JobId, orphan.State);
            reaped.Add(orphan);
        }

        return reaped;
    }

    private static long? Label(ContainerListResponse container, string name) =>
        container.Labels is not null
        && container.Labels.TryGetValue(name, out string? text)
        && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed orphaned container {ContainerId} of job {JobId} of run {RunId} (was {State})")]
    private static partial void LogReaped(ILogger logger, string containerId, long? runId, long? jobId, string state);
}
