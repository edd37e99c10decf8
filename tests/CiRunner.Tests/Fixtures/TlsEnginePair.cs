using Docker.DotNet.Models;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// Two private dockerds reached over TCP with TLS on loopback, with one CA and one client certificate for both (as a
/// CI's engines share a PKI), and a PostgreSQL database: what the cluster and engine pool tests run on.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TlsEnginePair : IAsyncDisposable
{
    private readonly TempDirectory _certificates;

    private TlsEnginePair(TempDirectory certificates, string clientCertificates, TempPostgresDatabase database)
    {
        _certificates = certificates;
        ClientCertificates = clientCertificates;
        Database = database;
    }

    /// <summary>The TLS directory (ca.pem, cert.pem, key.pem) a client of either engine uses.</summary>
    public string ClientCertificates { get; }

    public TempPostgresDatabase Database { get; }

    public PrivateDockerDaemon A { get; private set; } = null!;

    public PrivateDockerDaemon B { get; private set; } = null!;

    public string EndpointA { get; private set; } = "";

    public string EndpointB { get; private set; } = "";

    public static async Task<TlsEnginePair> StartAsync()
    {
        var certificates = new TempDirectory();
        var pair = new TlsEnginePair(certificates, await TestCertificates.MakeAsync(certificates), new TempPostgresDatabase());
        try
        {
            (pair.EndpointA, pair.A) = await pair.StartEngineAsync();
            (pair.EndpointB, pair.B) = await pair.StartEngineAsync();
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>The containers of <paramref name="instanceId"/> on <paramref name="daemon"/>, running or not.</summary>
    public static async Task<IList<ContainerListResponse>> ContainersAsync(PrivateDockerDaemon daemon, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(daemon);
        return await daemon.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"cirunner.instance={instanceId}"] = true } },
        });
    }

    /// <summary>The engines first, then the database and the certificates.</summary>
    public async ValueTask DisposeAsync()
    {
        if (A is not null)
        {
            await A.DisposeAsync();
        }

        if (B is not null)
        {
            await B.DisposeAsync();
        }

        Database.Dispose();
        _certificates.Dispose();
    }

    private async Task<(string Endpoint, PrivateDockerDaemon Daemon)> StartEngineAsync()
    {
        string endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        PrivateDockerDaemon daemon = await PrivateDockerDaemon.StartAsync(
            "--host", endpoint, "--tlsverify",
            "--tlscacert", _certificates.Combine("ca.pem"), "--tlscert", _certificates.Combine("server-cert.pem"), "--tlskey", _certificates.Combine("server-key.pem"));
        return (endpoint, daemon);
    }
}
