using CiRunner.Configuration;
using Docker.DotNet;

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

        return new DockerClientBuilder().WithEndpoint(endpoint).Build();
    }
}
