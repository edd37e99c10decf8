using System.Security.Cryptography;
using CiRunner.Configuration;
using Docker.DotNet;
using Docker.DotNet.X509;

namespace CiRunner.Execution;

/// <summary>Creates the engine client from the <c>Docker</c> section; the one place that knows how.</summary>
public static class DockerClientFactory
{
    /// <summary>The files a TLS certificate directory holds, named as <c>DOCKER_CERT_PATH</c> names them.</summary>
    public static IReadOnlyList<string> TlsFiles { get; } = ["ca.pem", "cert.pem", "key.pem"];

    public static IDockerClient Create(DockerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out Uri? endpoint))
        {
            throw new ArgumentException($"Docker:Endpoint '{options.Endpoint}' is not an absolute URI (unix:///var/run/docker.sock, tcp://host:2376).", nameof(options));
        }

        DockerClientBuilder builder = new DockerClientBuilder().WithEndpoint(endpoint);
        if (options.TlsCertDirectory is { } certificates)
        {
            // The engine must present a certificate signed by ca.pem, and CiRunner presents cert.pem with key.pem.
            builder = builder.WithAuthProvider(DockerTlsCertificates.LoadFromDirectory(certificates).CreateCredentials());
        }

        return builder.Build();
    }

    /// <summary>Why the certificates in <paramref name="directory"/> cannot be used, or null when they load.</summary>
    public static string? TlsProblem(string directory)
    {
        try
        {
            _ = DockerTlsCertificates.LoadFromDirectory(directory).CreateCredentials();
            return null;
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }
}
