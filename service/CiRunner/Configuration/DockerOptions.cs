namespace CiRunner.Configuration;

/// <summary>The <c>Docker</c> section: which engine runs jobs and what each job container may use.</summary>
public sealed class DockerOptions
{
    public const string SectionName = "Docker";

    /// <summary>Engine endpoint: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2376</c>.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>
    /// For a <c>tcp://</c> endpoint with TLS: a directory holding <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c>, as
    /// <c>DOCKER_CERT_PATH</c> does for the docker CLI; the engine is verified against the CA and CiRunner presents
    /// the client certificate. Absolute once validated (relative to the configuration file's folder); null for no TLS.
    /// </summary>
    public string? TlsCertDirectory { get; set; }

    /// <summary>How many jobs run at once.</summary>
    public int ParallelJobs { get; set; } = 2;

    /// <summary>Memory limit per job container, in MiB.</summary>
    public int MemoryMb { get; set; } = 2048;

    /// <summary>CPU limit per job container, in cores (fractions allowed).</summary>
    public double Cpus { get; set; } = 1.0;

    /// <summary>Maximum number of processes per job container.</summary>
    public int PidsLimit { get; set; } = 1024;

    /// <summary>Network mode of job containers; <c>none</c> keeps jobs offline and repeatable.</summary>
    public string NetworkMode { get; set; } = "none";

    /// <summary>Upper bound for a whole job, whatever its steps say.</summary>
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// Runs job containers with <c>no-new-privileges</c>: nothing in them gains privileges through setuid binaries or
    /// file capabilities. Scenarios whose services call <c>sudo</c> as a non-root user (OpenStack's rootwrap) need false.
    /// </summary>
    public bool NoNewPrivileges { get; set; } = true;

    /// <summary>
    /// How long a container that boots systemd (<c>Releases[].Init</c>) may take to reach <c>running</c> (or
    /// <c>degraded</c>) before the job ends as an error with the journal's tail.
    /// </summary>
    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Linux capabilities taken from job containers on top of Docker's defaults (none of them is needed to apply Puppet catalogs).</summary>
    public List<string> DropCapabilities { get; set; } = ["NET_RAW", "MKNOD"];
}
