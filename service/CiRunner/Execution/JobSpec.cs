using System.Globalization;
using CiRunner.Configuration;
using CiRunner.Matrix;

namespace CiRunner.Execution;

/// <summary>
/// Everything the executor needs to run one job in one container. A deploy job has a single phase; an
/// upgrade job runs several phases (deploy, upgrade, rollback) in the same container, each with its own
/// module set and steps.
/// </summary>
/// <param name="RunId">The run the job belongs to; written to the container's labels.</param>
/// <param name="JobId">The job; written to the container's labels.</param>
/// <param name="InstanceId">The service instance (<c>Service:InstanceId</c>); the reaper looks for it.</param>
/// <param name="Image">Image reference the container starts from.</param>
/// <param name="Release">Release the image belongs to, to name the command that builds a missing image; null for other images.</param>
/// <param name="Phases">Phases in order; at least one.</param>
/// <param name="JobTimeout">Upper bound for the whole job, image build included.</param>
/// <param name="LogFilePath">Where the job's log is written as it happens (created, with its folder).</param>
/// <param name="Limits">Resource limits and network mode of the container.</param>
public sealed record JobSpec(
    long RunId,
    long JobId,
    string InstanceId,
    string Image,
    string? Release,
    IReadOnlyList<JobPhase> Phases,
    TimeSpan JobTimeout,
    string LogFilePath,
    ContainerLimits Limits)
{
    /// <summary>What runs as PID 1: the step script itself, or systemd (then the steps run beside it).</summary>
    public InitSystem Init { get; init; } = InitSystem.None;

    /// <summary>How long systemd may take to come up when <see cref="Init"/> is systemd.</summary>
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The package snapshot mounted read-only at <see cref="PackageSnapshotSource.MountPath"/>; null when the job needs none.</summary>
    public PackageSnapshotSource? PackageSnapshot { get; init; }

    /// <summary>Which phases may come from a snapshot and which are saved as one (<c>Snapshots</c>); null for none.</summary>
    public PhaseSnapshotPolicy? Snapshots { get; init; }

    /// <summary>
    /// For a replay: <see cref="Image"/> is an exact image id that must not be built or replaced when missing (a
    /// rebuild would be another image); null for every other job.
    /// </summary>
    public ExactImage? ExactImage { get; init; }

    /// <summary>The job's attempt in its cell: 1, then 2 for its first retry or flake re-run.</summary>
    public int Attempt { get; init; } = 1;

    public string RunIdText => RunId.ToString(CultureInfo.InvariantCulture);

    public string JobIdText => JobId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The environment every step sees, as CI systems give theirs (GitHub Actions' <c>GITHUB_RUN_ATTEMPT</c>, Zuul's
    /// <c>zuul.build</c>): <c>CIRUNNER_RUN_ID</c>, <c>CIRUNNER_JOB_ID</c> and <c>CIRUNNER_ATTEMPT</c>. Not part of the
    /// lockfile: a step that reads them runs differently on another attempt on purpose.
    /// </summary>
    public IReadOnlyList<string> Environment() =>
    [
        $"CIRUNNER_RUN_ID={RunIdText}",
        $"CIRUNNER_JOB_ID={JobIdText}",
        $"CIRUNNER_ATTEMPT={Attempt.ToString(CultureInfo.InvariantCulture)}",
    ];

    /// <summary>The labels of the job's container.</summary>
    public IDictionary<string, string> ContainerLabelSet() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
        [ContainerLabels.Instance] = InstanceId,
        [ContainerLabels.Run] = RunIdText,
        [ContainerLabels.Job] = JobIdText,
    };
}

/// <summary>The exact image a replay runs, and what it was, to say how to bring it back when it is gone.</summary>
/// <param name="ImageId">The engine's id of the image the original job ran.</param>
/// <param name="Reference">The reference the original job asked for (a release image's tag).</param>
/// <param name="Release">The release that image belongs to; null for other images.</param>
/// <param name="OriginalJobId">The job replayed.</param>
public sealed record ExactImage(string ImageId, string Reference, string? Release, long OriginalJobId)
{
    /// <summary>The one line a replay ends with when the image is gone from the engine.</summary>
    public string GoneMessage() =>
        $"Image {ImageId} ({Reference}) that job {OriginalJobId} ran is gone from the engine, and a replay never uses another image; bring it back with `docker load` of a saved copy" +
        (Release is null ? "." : $" (`{ReleaseImages.BuildCommand(Release)}` builds a new image with another id: for new runs, not for this replay).");
}

/// <summary>What a job does with phase snapshots (see <see cref="PhaseSnapshotImages"/>).</summary>
/// <param name="Reuse">Whether the job may start after its deepest phase (before its last) that has a snapshot.</param>
/// <param name="Save">The phases whose file system is committed when they end green (unless a snapshot of them exists), by index.</param>
public sealed record PhaseSnapshotPolicy(bool Reuse, IReadOnlyList<int> Save);

/// <summary>One phase of a job: the module set and scenario files copied in, then steps run in order.</summary>
/// <param name="Name">Phase name shown in logs and results (<c>deploy</c>, <c>upgrade</c>, <c>rollback</c>).</param>
/// <param name="Modules">Modules copied to <c>/cirunner/modules/&lt;name&gt;</c>; they replace the previous phase's.</param>
/// <param name="ScenarioFiles">Files copied to <c>/cirunner/scenario/</c>; they replace the previous phase's.</param>
/// <param name="Manifest">Manifest for apply and idempotency steps, relative to <c>/cirunner/scenario/</c>; null when the phase has none.</param>
/// <param name="Steps">Steps in order.</param>
public sealed record JobPhase(
    string Name,
    IReadOnlyList<ModuleSource> Modules,
    IReadOnlyList<ScenarioFile> ScenarioFiles,
    string? Manifest,
    IReadOnlyList<StepDefinition> Steps)
{
    public bool HasFiles => Modules.Count > 0 || ScenarioFiles.Count > 0;
}

/// <summary>Where a module's files come from.</summary>
/// <param name="Name">Module name as Puppet knows it; the folder under <c>/cirunner/modules</c>.</param>
public abstract record ModuleSource(string Name);

/// <summary>A module at an exact commit of a git repository (bare mirror or working copy); read from the object database, not a checkout.</summary>
public sealed record GitModuleSource(string Name, string RepositoryPath, string CommitSha) : ModuleSource(Name);

/// <summary>A module from a local directory as it is (a maintainer's working copy); <c>.git</c> is left out.</summary>
public sealed record DirectoryModuleSource(string Name, string DirectoryPath) : ModuleSource(Name);

/// <summary>A scenario file copied to <c>/cirunner/scenario/&lt;RelativePath&gt;</c>.</summary>
/// <param name="RelativePath">Where it goes under <c>/cirunner/scenario</c>.</param>
/// <param name="SourcePath">The file it was read from (a replay: the scenario file the original job read).</param>
public sealed record ScenarioFile(string RelativePath, string SourcePath)
{
    /// <summary>
    /// The text copied in, as the job's lockfile keeps it; null to copy <see cref="SourcePath"/> as it is then. Set, the
    /// job copies in exactly what its lockfile says even if the file changes on disk meanwhile, and a replay needs no file.
    /// </summary>
    public string? Text { get; init; }

    /// <summary>What is copied in, as bytes.</summary>
    public byte[] ReadBytes() => Text is null ? File.ReadAllBytes(SourcePath) : System.Text.Encoding.UTF8.GetBytes(Text);
}

/// <summary>What a job container may use.</summary>
/// <param name="MemoryBytes">Memory limit.</param>
/// <param name="Cpus">CPU limit in cores.</param>
/// <param name="PidsLimit">Maximum number of processes.</param>
/// <param name="NetworkMode">Docker network mode (<c>none</c> by default).</param>
/// <param name="NoNewPrivileges">Whether the container runs with <c>no-new-privileges</c>.</param>
/// <param name="DropCapabilities">Capabilities dropped from Docker's default set; null means <see cref="DefaultDropCapabilities"/>.</param>
public sealed record ContainerLimits(long MemoryBytes, double Cpus, long PidsLimit, string NetworkMode, bool NoNewPrivileges = true, IReadOnlyList<string>? DropCapabilities = null)
{
    /// <summary>Raw sockets and device nodes: nothing a Puppet run needs, and the first tools of an escape.</summary>
    public static readonly IReadOnlyList<string> DefaultDropCapabilities = ["NET_RAW", "MKNOD"];

    public IReadOnlyList<string> DroppedCapabilities => DropCapabilities ?? DefaultDropCapabilities;

    public static ContainerLimits FromOptions(DockerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ContainerLimits(options.MemoryMb * 1024L * 1024L, options.Cpus, options.PidsLimit, options.NetworkMode, options.NoNewPrivileges, options.DropCapabilities);
    }
}

/// <summary>
/// The package snapshot a job moves its node onto: the one frozen from <paramref name="ReleaseImage"/>, the image of
/// <paramref name="Release"/> as it is now (a rebuilt image has a snapshot of its own).
/// </summary>
public sealed record PackageSnapshotSource(string Release, string ReleaseImage)
{
    /// <summary>
    /// For a replay: the id of the snapshot the original job used. The job then ends in an error when the snapshot
    /// found now is another, rather than using newer packages; null for every other job.
    /// </summary>
    public string? ExpectedId { get; init; }

    /// <summary>Where the snapshot (an apt repository and the script that moves the node onto it) appears in the container.</summary>
    public const string MountPath = "/cirunner/snapshot";

    /// <summary>The script in the snapshot that switches apt to it and upgrades the node, offline.</summary>
    public const string UpgradeScript = MountPath + "/upgrade-node";
}
