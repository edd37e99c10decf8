using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>
/// The phase snapshots of one instance on one engine: images committed from job containers, labelled with the
/// phase's key (<see cref="PhaseSnapshotKey"/>), the job that made them and the release image they grew from, and
/// tagged <c>cirunner/phase-snapshot:&lt;key&gt;</c>. Using a snapshot tags it again, which sets the engine's
/// <c>LastTagTime</c>: the least recently used snapshots are what <see cref="PruneAsync"/> removes first. They
/// belong to the instance (its label): its prune, retention and tests manage them, and no other instance removes one
/// it is about to start from.
/// </summary>
public sealed class PhaseSnapshotImages
{
    /// <summary>The repository of snapshot tags.</summary>
    public const string Repository = "cirunner/phase-snapshot";

    /// <summary>On snapshot images: always <see cref="ContainerLabels.ManagedValue"/>.</summary>
    public const string SnapshotLabel = "cirunner.phase-snapshot";

    /// <summary>On snapshot images: the phase's key.</summary>
    public const string KeyLabel = "cirunner.phase-snapshot.key";

    /// <summary>On snapshot images: the phase's name (<c>deploy</c>, <c>upgrade</c>).</summary>
    public const string PhaseLabel = "cirunner.phase-snapshot.phase";

    private readonly IDockerClient _docker;

    public PhaseSnapshotImages(IDockerClient docker)
    {
        _docker = docker;
    }

    /// <summary>
    /// This instance's snapshots by key, as the jobs that made them describe them (<see cref="PhaseSnapshot.Made"/>):
    /// one image list. Of two with one key (two jobs saved the phase at once) the newer, which holds the tag. Nothing
    /// is marked as used: only what a job starts from is (<see cref="UseAsync"/>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, PhaseSnapshot>> ByKeyAsync(string instanceId, CancellationToken cancellationToken) =>
        (await ListAsync(instanceId, cancellationToken))
            .OrderByDescending(i => i.Created)
            .Select(i => Describe(i.ID, i.Labels, PhaseSnapshot.Made))
            .Where(s => s.Key.Length > 0)
            .DistinctBy(s => s.Key, StringComparer.Ordinal)
            .ToDictionary(s => s.Key, StringComparer.Ordinal);

    /// <summary>
    /// Marks <paramref name="snapshot"/> as just used, by tagging it again (which sets its <c>LastTagTime</c>, so
    /// <see cref="PruneAsync"/> removes it after the ones used less recently); it as the job that starts from it records it.
    /// </summary>
    public async Task<PhaseSnapshot> UseAsync(PhaseSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        await _docker.Images.TagImageAsync(snapshot.ImageId, new ImageTagParameters { RepositoryName = Repository, Tag = snapshot.Key }, cancellationToken);
        return snapshot with { Role = PhaseSnapshot.Used };
    }

    /// <summary>
    /// Commits the running container's file system (paused for the commit, so it is consistent, as a node whose power was cut is)
    /// as the snapshot of <paramref name="phase"/> with <paramref name="key"/>.
    /// </summary>
    public async Task<PhaseSnapshot> CommitAsync(string containerId, JobSpec job, string phase, string key, string baseImageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
            [SnapshotLabel] = ContainerLabels.ManagedValue,
            [KeyLabel] = key,
            [PhaseLabel] = phase,
            [ContainerLabels.Instance] = job.InstanceId,
            [ContainerLabels.Run] = job.RunIdText,
            [ContainerLabels.Job] = job.JobIdText,
            [ContainerLabels.ImageId] = baseImageId,
        };
        CommitContainerChangesResponse committed = await _docker.Images.CommitContainerChangesAsync(
            new CommitContainerChangesParameters
            {
                ContainerID = containerId,
                RepositoryName = Repository,
                Tag = key,
                Pause = true,
                Comment = $"CiRunner phase snapshot: phase {phase} of job {job.JobIdText} of run {job.RunIdText}",
                Labels = labels,
            },
            cancellationToken);
        return Describe(committed.ID, labels, PhaseSnapshot.Made);
    }

    /// <summary>
    /// Removes this instance's least recently used snapshots until the rest take at most <paramref name="maxBytes"/>
    /// (each counted by what it adds to the image it grew from). <paramref name="keep"/> stays whatever its size; a
    /// snapshot a container is using stays too (the engine refuses). The removed snapshots' ids.
    /// </summary>
    public async Task<IReadOnlyList<string>> PruneAsync(string instanceId, long maxBytes, string? keep, CancellationToken cancellationToken)
    {
        List<(ImagesListResponse Image, long Size)> snapshots = await SizedAsync(instanceId, cancellationToken);
        long total = snapshots.Sum(s => s.Size);
        if (total <= maxBytes)
        {
            return [];
        }

        var used = new List<(ImagesListResponse Image, long Size, DateTime LastUsed)>();
        foreach ((ImagesListResponse image, long size) in snapshots.Where(s => s.Image.ID != keep))
        {
            used.Add((image, size, await LastUsedAsync(image, cancellationToken)));
        }

        var removed = new List<string>();
        foreach ((ImagesListResponse image, long size, _) in used.OrderBy(u => u.LastUsed))
        {
            if (total <= maxBytes)
            {
                break;
            }

            if (await TryRemoveAsync(image, cancellationToken))
            {
                total -= size;
                removed.Add(image.ID);
            }
        }

        return removed;
    }

    /// <summary>Removes every snapshot of this instance that no container uses (newest first: a snapshot grown from another goes before it); the removed ids.</summary>
    public async Task<IReadOnlyList<string>> RemoveAllAsync(string instanceId, Func<PhaseSnapshot, bool>? which, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (ImagesListResponse image in (await ListAsync(instanceId, cancellationToken)).OrderByDescending(i => i.Created))
        {
            if ((which is null || which(Describe(image.ID, image.Labels, PhaseSnapshot.Made))) && await TryRemoveAsync(image, cancellationToken))
            {
                removed.Add(image.ID);
            }
        }

        return removed;
    }

    /// <summary>Removes this instance's snapshots last used (made, or started from) before <paramref name="cutoff"/>; the removed ids.</summary>
    public async Task<IReadOnlyList<string>> RemoveUnusedSinceAsync(string instanceId, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (ImagesListResponse image in (await ListAsync(instanceId, cancellationToken)).OrderByDescending(i => i.Created))
        {
            if (await LastUsedAsync(image, cancellationToken) < cutoff.UtcDateTime && await TryRemoveAsync(image, cancellationToken))
            {
                removed.Add(image.ID);
            }
        }

        return removed;
    }

    /// <summary>This instance's snapshots and what each adds to the image it grew from, in bytes.</summary>
    public async Task<List<(ImagesListResponse Image, long Size)>> SizedAsync(string instanceId, CancellationToken cancellationToken)
    {
        IList<ImagesListResponse> snapshots = await ListAsync(instanceId, cancellationToken);
        if (snapshots.Count == 0)
        {
            return [];
        }

        // An image's size includes the layers it grew from; the parent's size is taken off, whatever the parent is.
        Dictionary<string, long> sizes = (await _docker.Images.ListImagesAsync(new ImagesListParameters { All = true }, cancellationToken))
            .GroupBy(i => i.ID)
            .ToDictionary(g => g.Key, g => g.First().Size, StringComparer.Ordinal);
        return snapshots
            .Select(s => (s, Math.Max(0, s.Size - (s.ParentID is { Length: > 0 } parent && sizes.TryGetValue(parent, out long parentSize) ? parentSize : 0))))
            .ToList();
    }

    /// <summary>When the snapshot was last made or started from: the engine's <c>LastTagTime</c> (using one tags it again), else its creation.</summary>
    private async Task<DateTime> LastUsedAsync(ImagesListResponse image, CancellationToken cancellationToken)
    {
        ImageInspectResponse inspected = await _docker.Images.InspectImageAsync(image.ID, cancellationToken);
        return inspected.Metadata?.LastTagTime is { } tagged && tagged > image.Created ? tagged : image.Created;
    }

    private async Task<bool> TryRemoveAsync(ImagesListResponse image, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters { Force = false }, cancellationToken);
            return true;
        }
        catch (DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.Conflict or System.Net.HttpStatusCode.NotFound)
        {
            // In use by a container (a job starting from it), or gone already.
            return false;
        }
    }

    private async Task<IList<ImagesListResponse>> ListAsync(string instanceId, CancellationToken cancellationToken)
    {
        return await _docker.Images.ListImagesAsync(
            new ImagesListParameters { Filters = ContainerLabels.Filter([$"{SnapshotLabel}={ContainerLabels.ManagedValue}", $"{ContainerLabels.Instance}={instanceId}"]) },
            cancellationToken);
    }

    private static PhaseSnapshot Describe(string imageId, IDictionary<string, string>? labels, string role)
    {
        string Label(string name) => labels is not null && labels.TryGetValue(name, out string? value) ? value : "";
        long Number(string name) => long.TryParse(Label(name), NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : 0;
        return new PhaseSnapshot(Label(PhaseLabel), role, imageId, Label(KeyLabel), Number(ContainerLabels.Run), Number(ContainerLabels.Job));
    }
}
