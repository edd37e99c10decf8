using System.Net;
using System.Net.Sockets;
using CiRunner.Web;

namespace CiRunner.Tests.Web;

/// <summary><c>serve</c>'s check of <c>Http:Listen</c> before the host starts, on real sockets of this machine.</summary>
public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:{0}")]
    [InlineData("http://localhost:{0}")]
    [InlineData("http://*:{0}")]
    public void WhyNotFree_AFreePort_Null(string listen)
    {
        int port = FreePort();

        Assert.Null(ListenAddress.WhyNotFree(string.Format(System.Globalization.CultureInfo.InvariantCulture, listen, port)));
    }

    [Theory]
    [InlineData("http://127.0.0.1:{0}")]
    [InlineData("http://localhost:{0}")]
    [InlineData("https://*:{0}")]
    public void WhyNotFree_APortAnotherProcessListensOn_SaysSo(string listen)
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        int port = ((IPEndPoint)other.LocalEndpoint).Port;

        string? why = ListenAddress.WhyNotFree(string.Format(System.Globalization.CultureInfo.InvariantCulture, listen, port));

        Assert.Equal($"another process listens on port {port} there (another CiRunner instance?); stop it, or set a free port", why);
    }

    [Fact]
    public void WhyNotFree_AnAddressNotOfThisMachine_SaysSo()
    {
        // TEST-NET-1 (RFC 5737): never assigned to a host.
        Assert.Equal(
            "192.0.2.1 is not an address of this machine; set one of its addresses, localhost, or * for every address",
            ListenAddress.WhyNotFree($"http://192.0.2.1:{FreePort()}"));
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
