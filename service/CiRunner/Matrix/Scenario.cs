namespace CiRunner.Matrix;

/// <summary>A named integration test read from a scenario file.</summary>
/// <param name="Name">Unique scenario name.</param>
/// <param name="Description">What it exercises, for people.</param>
/// <param name="SourcePath">The scenario file.</param>
/// <param name="ManifestPath">The Puppet manifest applied by <c>apply</c> and <c>idempotency</c> steps.</param>
/// <param name="Modules">Modules the scenario needs (Puppetfile names).</param>
/// <param name="Releases">Releases it applies to; empty means all.</param>
/// <param name="Steps">Steps in order.</param>
/// <param name="Upgrade">Whether it takes part in upgrade cells.</param>
/// <param name="Rollback">Whether each of its upgrade cells also gets a rollback cell (besides <see cref="MatrixRules.Rollback"/>).</param>
/// <remarks>
/// <see cref="Steps"/> run in every phase of a job. <see cref="Seed"/> runs once, after the deploy phase's steps, to
/// put a workload in place; <see cref="Verify"/> runs at the end of every phase (deploy, upgrade, rollback), so a
/// workload that the seed made must survive each of them.
/// </remarks>
public sealed record Scenario(
    string Name,
    string Description,
    string SourcePath,
    string ManifestPath,
    IReadOnlyList<string> Modules,
    IReadOnlyList<string> Releases,
    IReadOnlyList<StepDefinition> Steps,
    bool Upgrade,
    bool Rollback = false)
{
    /// <summary>Command steps run once after the deploy phase's steps (a workload seed).</summary>
    public IReadOnlyList<StepDefinition> Seed { get; init; } = [];

    /// <summary>Command steps run at the end of every phase.</summary>
    public IReadOnlyList<StepDefinition> Verify { get; init; } = [];

    /// <summary>Docker network mode of the scenario's containers; null means <c>Docker:NetworkMode</c> (<c>none</c> by default).</summary>
    public string? Network { get; init; }

    /// <summary>What runs as PID 1 in the scenario's containers; null means the release's <see cref="Release.Init"/>.</summary>
    public InitSystem? Init { get; init; }

    /// <summary>
    /// Files beside the scenario file (scripts its steps call, an openrc), as full paths, copied with the manifest into
    /// <c>/cirunner/scenario/</c> under their path relative to the scenario's folder.
    /// </summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>
    /// Why the scenario is not run (<c>parsed-only</c>): each names a part that cannot run in one unprivileged, offline
    /// container, or what the images lack for it, and why. Such a scenario is parsed and checked but gets no cells, and
    /// <c>validate</c> and the scenarios page say so.
    /// </summary>
    public IReadOnlyList<string> ParsedOnly { get; init; } = [];

    /// <summary>Whether the scenario gets cells (see <see cref="ParsedOnly"/>).</summary>
    public bool Runnable => ParsedOnly.Count == 0;

    /// <summary>
    /// The init system of this scenario's jobs on <paramref name="release"/>: the scenario's when it says, else the
    /// release's. An upgrade or rollback from <paramref name="from"/> boots once, from the from-release's image: systemd
    /// when either release asks.
    /// </summary>
    public InitSystem InitOn(Release release, Release? from = null)
    {
        ArgumentNullException.ThrowIfNull(release);
        return Init ?? (release.Init == InitSystem.Systemd || from?.Init == InitSystem.Systemd ? InitSystem.Systemd : InitSystem.None);
    }

    public bool AppliesTo(string release) =>
        Releases.Count == 0 || Releases.Contains(release, StringComparer.Ordinal);

    public bool Needs(string module) => Modules.Contains(module, StringComparer.Ordinal);
}

/// <summary>One step of a scenario.</summary>
/// <param name="Kind">Apply, idempotency, command or tempest.</param>
/// <param name="Name">Name shown in logs and results.</param>
/// <param name="Command">Argument array for <see cref="StepKind.Command"/>; empty otherwise.</param>
/// <param name="Timeout">Time the step may take before the container is killed.</param>
/// <param name="Noop">Apply with <c>--noop</c>: the catalog compiles and is evaluated against real module code, nothing changes.</param>
public sealed record StepDefinition(StepKind Kind, string Name, IReadOnlyList<string> Command, TimeSpan Timeout, bool Noop = false)
{
    /// <summary>What a <see cref="StepKind.Tempest"/> step runs; null for every other kind.</summary>
    public TempestSettings? Tempest { get; init; }
}
