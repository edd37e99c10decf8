namespace CiRunner.Execution;

/// <summary>
/// Label names CiRunner puts on the containers and images it creates. Containers are found again by
/// label (never by name), so a restarted service can reap what an earlier process of the same instance left.
/// </summary>
public static class ContainerLabels
{
    /// <summary>Present on every container CiRunner creates; the value is always <see cref="ManagedValue"/>.</summary>
    public const string Managed = "cirunner.managed";

    public const string ManagedValue = "true";

    /// <summary>The service instance id (<c>Service:InstanceId</c>) that owns the container.</summary>
    public const string Instance = "cirunner.instance";

    /// <summary>The run id, in invariant decimal.</summary>
    public const string Run = "cirunner.run";

    /// <summary>The job id, in invariant decimal.</summary>
    public const string Job = "cirunner.job";

    /// <summary>On images: SHA-256 of the recipe that built the image; a different hash means rebuild.</summary>
    public const string RecipeHash = "cirunner.recipe-hash";

    /// <summary>On release images and package snapshot volumes: the OpenStack release the image is for.</summary>
    public const string Release = "cirunner.release";

    /// <summary>On package snapshot volumes: always <see cref="ManagedValue"/>; what finds them among other volumes.</summary>
    public const string Snapshot = "cirunner.snapshot";

    /// <summary>On package snapshot volumes: the release image's reference (<c>cirunner/release:2024.2</c>) it was frozen from.</summary>
    public const string Image = "cirunner.image";

    /// <summary>On package snapshot volumes: the id of the release image the snapshot was frozen from.</summary>
    public const string ImageId = "cirunner.image-id";

    /// <summary>On package snapshot volumes: the snapshot's id (<c>sha256:</c> and the hash of its package list and upgrade script).</summary>
    public const string SnapshotId = "cirunner.snapshot.id";

    /// <summary>On package snapshot volumes: how many packages the snapshot holds, in invariant decimal.</summary>
    public const string SnapshotPackages = "cirunner.snapshot.packages";

    /// <summary>
    /// On the throwaway containers that list, build and check package snapshots: what they are for. They are removed
    /// as soon as they end; an exited one is a leftover of a process that died, and the next snapshot build removes it.
    /// </summary>
    public const string Throwaway = "cirunner.throwaway";

    /// <summary>
    /// The engine API's <c>filters</c> that match what carries every one of <paramref name="labels"/> (each
    /// <c>name=value</c>): <c>{"label":{"name=value":true,...}}</c>, for containers, images and volumes alike.
    /// </summary>
    public static Dictionary<string, IDictionary<string, bool>> Filter(IEnumerable<string> labels) =>
        new(StringComparer.Ordinal) { ["label"] = labels.ToDictionary(label => label, _ => true, StringComparer.Ordinal) };
}
