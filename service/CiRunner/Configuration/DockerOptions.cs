using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

/// <summary>The <c>Docker</c> section: which engine runs jobs and what each job container may use.</summary>
public sealed class DockerOptions
{
    public const string SectionName = "Docker";

    /// <summary>Engine endpoint: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2376</c>.</summary>
    [Text(TextKind.DockerEndpoint, ErrorMessage = "a Docker engine endpoint: unix:///var/run/docker.sock, tcp://host:2376 or npipe://./pipe/docker_engine")]
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>How many jobs run at once.</summary>
    [WholeNumber(1, 64, ErrorMessage = "a whole number from 1 to 64")]
    public int ParallelJobs { get; set; } = 2;

    /// <summary>Memory limit per job container, in MiB.</summary>
    [WholeNumber(64, int.MaxValue, ErrorMessage = "a whole number of MiB, at least 64")]
    public int MemoryMb { get; set; } = 2048;

    /// <summary>CPU limit per job container, in cores (fractions allowed).</summary>
    [Number(0, 1024, ErrorMessage = "a number of cores greater than 0 (fractions allowed, like 1.5)")]
    public double Cpus { get; set; } = 1.0;

    /// <summary>Maximum number of processes per job container.</summary>
    [WholeNumber(16, int.MaxValue, ErrorMessage = "a whole number of processes, at least 16")]
    public int PidsLimit { get; set; } = 1024;

    /// <summary>Network mode of job containers; <c>none</c> keeps jobs offline and repeatable.</summary>
    [Text(TextKind.Word, ErrorMessage = "a Docker network mode such as none, bridge or host (none keeps jobs offline)")]
    public string NetworkMode { get; set; } = "none";

    /// <summary>Upper bound for a whole job, whatever its steps say.</summary>
    [Duration(MinimumIsExclusive = true, ErrorMessage = Matrix.Duration.Expected + ", longer than zero")]
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// For a <c>tcp://</c> endpoint with TLS: a directory holding <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c>, as
    /// <c>DOCKER_CERT_PATH</c> does for the docker CLI; the engine is verified against the CA and CiRunner presents
    /// the client certificate. Absolute once validated (relative to the configuration file's folder); null for no TLS.
    /// </summary>
    [Text(TextKind.Path, ErrorMessage = "a directory with ca.pem, cert.pem and key.pem, absolute or relative to the configuration file's folder")]
    public string? TlsCertDirectory { get; set; }

    /// <summary>
    /// Runs job containers with <c>no-new-privileges</c>: nothing in them gains privileges through setuid binaries or
    /// file capabilities. Scenarios whose services call <c>sudo</c> as a non-root user (OpenStack's rootwrap) need false.
    /// </summary>
    public bool NoNewPrivileges { get; set; } = true;

    /// <summary>Linux capabilities taken from job containers on top of Docker's defaults (none of them is needed to apply Puppet catalogs).</summary>
    [ListOf(ItemKind.Capability, ListFix = "a JSON array of Linux capability names like [\"NET_RAW\", \"MKNOD\"]",
        ErrorMessage = "a Linux capability name like NET_RAW or CAP_NET_RAW (see capabilities(7)), or ALL")]
    public List<string> DropCapabilities { get; set; } = ["NET_RAW", "MKNOD"];

    /// <summary>
    /// How long a container that boots systemd (<c>Releases[].Init</c>) may take to reach <c>running</c> (or
    /// <c>degraded</c>) before the job ends as an error with the journal's tail.
    /// </summary>
    [Duration(Minimum = "5s", Maximum = "1h", ErrorMessage = Matrix.Duration.Expected + ", from 5 s to 1 h")]
    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The engine pool; empty for the single engine of <see cref="Endpoint"/>. Once loaded, <see cref="Endpoint"/> and
    /// <see cref="TlsCertDirectory"/> are the first engine's (the one the command-line verbs use).
    /// </summary>
    [ReadByLoader]
    [ValidateEnumeratedItems]
    public List<EngineOptions> Engines { get; set; } = [];

    /// <summary>The engines jobs run on: <see cref="Engines"/>, or one named <c>default</c> made of <see cref="Endpoint"/>, <see cref="TlsCertDirectory"/> and <see cref="ParallelJobs"/>.</summary>
    public IReadOnlyList<EngineOptions> Pool() => Engines.Count > 0 ? Engines :
        [new EngineOptions { Name = DefaultEngineName, Endpoint = Endpoint, TlsCertDirectory = TlsCertDirectory, Capacity = ParallelJobs }];

    /// <summary>The name of the one engine when <see cref="Engines"/> is empty.</summary>
    public const string DefaultEngineName = "default";
}
