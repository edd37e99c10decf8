using System.Diagnostics;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl in a temp folder: for private
/// dockerd engines started with <c>--tlsverify</c>, and the client directory <c>Docker:TlsCertDirectory</c> names
/// (<c>ca.pem</c>, <c>cert.pem</c>, <c>key.pem</c>). Every engine made with one folder trusts the same client.
/// </summary>
public static class TestCertificates
{
    /// <summary>Makes them in <paramref name="certificates"/> (server files at its top) and returns the client directory.</summary>
    public static async Task<string> MakeAsync(TempDirectory certificates)
    {
        string clientDirectory = certificates.Combine("client");
        Directory.CreateDirectory(clientDirectory);
        certificates.Write("server.cnf", "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n");
        certificates.Write("client.cnf", "extendedKeyUsage = clientAuth\n");
        string[][] steps =
        [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-sha256", "-subj", "/CN=cirunner-test-ca", "-keyout", "ca-key.pem", "-out", "ca.pem"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/CN=127.0.0.1", "-keyout", "server-key.pem", "-out", "server.csr"],
            ["x509", "-req", "-days", "1", "-sha256", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-extfile", "server.cnf", "-out", "server-cert.pem"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/CN=cirunner", "-keyout", "client/key.pem", "-out", "client.csr"],
            ["x509", "-req", "-days", "1", "-sha256", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-extfile", "client.cnf", "-out", "client/cert.pem"],
        ];
        foreach (string[] step in steps)
        {
            var start = new ProcessStartInfo("openssl", step) { WorkingDirectory = certificates.Path, RedirectStandardError = true, UseShellExecute = false };
            using Process openssl = Process.Start(start)!;
            string error = await openssl.StandardError.ReadToEndAsync();
            await openssl.WaitForExitAsync();
            Assert.True(openssl.ExitCode == 0, $"openssl {string.Join(' ', step)}: {error}");
        }

        File.Copy(certificates.Combine("ca.pem"), Path.Combine(clientDirectory, "ca.pem"));
        return clientDirectory;
    }
}
