namespace CiRunner.Matrix;

/// <summary>An OpenStack release as configured: its branch candidates, image and module set.</summary>
/// <param name="Name">Release name (<c>zed</c>, <c>2024.1</c>).</param>
/// <param name="Order">Position in upgrade order, 0 = oldest.</param>
/// <param name="BranchCandidates">Module branches (or tags) in order of preference.</param>
/// <param name="Image">Container image reference.</param>
/// <param name="IsSlurp">Whether skip-level upgrades start or end here.</param>
/// <param name="Puppetfile">The release's module set.</param>
/// <param name="UpgradePrepareCommand">Argument array run before upgrading to this release; empty when none.</param>
public sealed record Release(
    string Name,
    int Order,
    IReadOnlyList<string> BranchCandidates,
    string Image,
    bool IsSlurp,
    Puppetfile Puppetfile,
    IReadOnlyList<string> UpgradePrepareCommand)
{
    /// <summary>Debian suite of the release's base image (<c>cirunner/base:&lt;suite&gt;</c>).</summary>
    public string Suite { get; init; } = "bookworm";

    /// <summary>What runs as PID 1 in the release's job containers.</summary>
    public InitSystem Init { get; init; } = InitSystem.None;

    /// <summary>Whether the release has a package snapshot that upgrade cells into it move the node onto.</summary>
    public bool PackageSnapshot { get; init; }

    /// <summary>The development release is the one that maps to <c>master</c>.</summary>
    public bool IsDevelopment => BranchCandidates.Contains("master", StringComparer.Ordinal);
}

/// <summary>What a job container runs as PID 1.</summary>
public enum InitSystem
{
    /// <summary>The step script itself: nothing else runs, services that steps start live only as its children.</summary>
    None,

    /// <summary>systemd boots first, as on a node; the steps run beside it and Puppet's service resources start units for real.</summary>
    Systemd,
}
