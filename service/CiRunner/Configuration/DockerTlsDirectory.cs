using System.Security.Cryptography;
using Docker.DotNet.X509;

namespace CiRunner.Configuration;

/// <summary>
/// What a <c>Docker:TlsCertDirectory</c> must hold. It lives with the configuration because <c>validate</c> checks the
/// directory before any engine is contacted; the executor's client factory loads the same files.
/// </summary>
public static class DockerTlsDirectory
{
    /// <summary>The files a TLS certificate directory holds, named as <c>DOCKER_CERT_PATH</c> names them.</summary>
    public static IReadOnlyList<string> Files { get; } = ["ca.pem", "cert.pem", "key.pem"];

    /// <summary>Why the certificates in <paramref name="directory"/> cannot be used, or null when they load.</summary>
    public static string? Problem(string directory)
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
