using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>
/// One entry of the <c>Releases</c> list, which is ordered oldest to newest (upgrade order).
/// <see cref="ConfigurationLoader"/> turns entries into <see cref="Matrix.Release"/> records with their parsed Puppetfile.
/// </summary>
public sealed class ReleaseOptions
{
    public const string SectionName = "Releases";

    /// <summary>OpenStack release name: <c>zed</c>, <c>2023.1</c>, ...</summary>
    public string Name { get; set; } = "";

    /// <summary>Module branch candidates in order; the first one a module has is used (<c>stable/2023.1</c>, <c>unmaintained/2023.1</c>, <c>2023.1-eol</c>).</summary>
    public List<string> Branches { get; set; } = [];

    /// <summary>Container image with the release's packages and Puppet (<c>cirunner/release:2024.1</c>).</summary>
    public string Image { get; set; } = "";

    /// <summary>The release's module set in r10k Puppetfile syntax. Relative to the scenarios directory. Defaults to <c>puppetfiles/&lt;name&gt;.Puppetfile</c>.</summary>
    public string? Puppetfile { get; set; }

    /// <summary>Skip-level upgrade release. Unset: derived from the name (<c>YYYY.1</c> is SLURP).</summary>
    public bool? Slurp { get; set; }

    /// <summary>Command run inside the container before upgrading to this release (for example switching package repositories).</summary>
    public List<string> UpgradePrepareCommand { get; set; } = [];

    /// <summary>Debian suite of the release's base image (<c>cirunner/base:&lt;suite&gt;</c>), which its recipe is built FROM.</summary>
    public string Suite { get; set; } = "bookworm";

    /// <summary>What runs as PID 1 in the release's job containers: <c>none</c> (the step script) or <c>systemd</c> (a booted node).</summary>
    public InitSystem Init { get; set; } = InitSystem.None;

    /// <summary>
    /// Freeze the release image's packages into a package snapshot when the image is built, and move the node onto it
    /// (offline) at the start of the upgrade phase of every upgrade cell into this release.
    /// </summary>
    public bool PackageSnapshot { get; set; }
}
