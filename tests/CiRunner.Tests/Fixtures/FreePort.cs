using System.Net;
using System.Net.Sockets;

namespace CiRunner.Tests.Fixtures;

/// <summary>A loopback port nobody listens on right now, so parallel tests never share a fixed port.</summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
