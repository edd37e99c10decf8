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

    /// <summary>On release images: the OpenStack release the image is for.</summary>
    public const string Release = "cirunner.release";
}
