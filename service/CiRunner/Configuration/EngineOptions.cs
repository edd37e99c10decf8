namespace CiRunner.Configuration;

/// <summary>
/// One entry of <c>Docker:Engines</c>, the engine pool: where the engine is, how to reach it, how many jobs it takes at
/// once and which jobs it may take. Without the list, the pool is one engine made of <c>Docker:Endpoint</c>,
/// <c>Docker:TlsCertDirectory</c> and <c>Docker:ParallelJobs</c> (<see cref="DockerOptions.Pool"/>).
/// </summary>
public sealed class EngineOptions
{
    /// <summary>The engine's name in logs, pages, metrics and the API: short, unique in the pool (<c>rack1-a</c>).</summary>
    [Matches("^[A-Za-z0-9._-]{1,63}$", ErrorMessage = "a short name for the engine: letters, digits, '.', '_' or '-', at most 63 characters, like rack1-a")]
    public string Name { get; set; } = "";

    /// <summary>Engine endpoint: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2376</c>.</summary>
    [Text(TextKind.DockerEndpoint, ErrorMessage = "a Docker engine endpoint: unix:///var/run/docker.sock, tcp://host:2376 or npipe://./pipe/docker_engine")]
    public string Endpoint { get; set; } = "";

    /// <summary>
    /// For a <c>tcp://</c> endpoint with TLS: a directory holding <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c>
    /// (as <c>Docker:TlsCertDirectory</c>). Absolute once validated; null for no TLS.
    /// </summary>
    [Text(TextKind.Path, ErrorMessage = "a directory with ca.pem, cert.pem and key.pem, absolute or relative to the configuration file's folder")]
    public string? TlsCertDirectory { get; set; }

    /// <summary>How many jobs run on this engine at once.</summary>
    [WholeNumber(1, 64, ErrorMessage = "a whole number from 1 to 64")]
    public int Capacity { get; set; } = 2;

    /// <summary>
    /// The releases whose jobs this engine takes (an upgrade job needs both of its releases here); empty for every
    /// release. Names from <c>Releases</c>: the loader reads them and checks each against that list.
    /// </summary>
    [ReadByLoader]
    public List<string> Releases { get; set; } = [];

    /// <summary>Whether the engine takes a job on <paramref name="releases"/> (its release, and an upgrade's from-release).</summary>
    public bool Takes(IEnumerable<string> releases) => Releases.Count == 0 || releases.All(r => Releases.Contains(r, StringComparer.Ordinal));
}
