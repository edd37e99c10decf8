using CiRunner.Configuration;
using Docker.DotNet;
using Docker.DotNet.X509;

namespace CiRunner.Execution;

/// <summary>Creates the engine client from the <c>Docker</c> section; the one place that knows how.</summary>
public static class DockerClientFactory
{
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
}
