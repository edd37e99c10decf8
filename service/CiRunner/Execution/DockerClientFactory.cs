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
        return Create(options.Endpoint, options.TlsCertDirectory);
    }

    /// <summary>The client of one engine of the pool.</summary>
    public static IDockerClient Create(EngineOptions engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return Create(engine.Endpoint, engine.TlsCertDirectory);
    }

    private static DockerClient Create(string endpointText, string? tlsCertDirectory)
    {
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out Uri? endpoint))
        {
            throw new ArgumentException($"Docker engine endpoint '{endpointText}' is not an absolute URI (unix:///var/run/docker.sock, tcp://host:2376).", nameof(endpointText));
        }

        DockerClientBuilder builder = new DockerClientBuilder().WithEndpoint(endpoint);
        if (tlsCertDirectory is { } certificates)
        {
            // The engine must present a certificate signed by ca.pem, and CiRunner presents cert.pem with key.pem.
            builder = builder.WithAuthProvider(DockerTlsCertificates.LoadFromDirectory(certificates).CreateCredentials());
        }

        return builder.Build();
    }
}
