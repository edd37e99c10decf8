using System.Net;
using System.Net.Sockets;

namespace CiRunner.Web;

/// <summary>
/// Whether <c>Http:Listen</c> can be listened on now, asked before the host starts: Kestrel's own refusal comes as the
/// host's "Hosting failed to start" with stack traces, where an operator needs one line naming the key.
/// </summary>
internal static class ListenAddress
{
    /// <summary>Null when a listener could bind <paramref name="listen"/>'s address and port now; else why not.</summary>
    public static string? WhyNotFree(string listen)
    {
        BindingAddress address = BindingAddress.Parse(listen);
        foreach (IPEndPoint endpoint in EndpointsOf(address.Host, address.Port))
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);

            // As Kestrel binds: connections of an earlier process still in TIME_WAIT do not hold the port.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            try
            {
                socket.Bind(endpoint);
            }
            catch (SocketException e)
            {
                return e.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse => $"another process listens on port {address.Port} there (another CiRunner instance?); stop it, or set a free port",
                    SocketError.AccessDenied => $"no permission to listen on port {address.Port}: ports under 1024 need root or CAP_NET_BIND_SERVICE; set a port of 1024 or more",
                    SocketError.AddressNotAvailable => $"{endpoint.Address} is not an address of this machine; set one of its addresses, localhost, or * for every address",
                    _ => $"{e.Message} ({endpoint})",
                };
            }
        }

        return null;
    }

    // What Kestrel binds for the host: both loopbacks for localhost, the address itself for an IP, else every address.
    private static IEnumerable<IPEndPoint> EndpointsOf(string host, int port)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            yield return new IPEndPoint(IPAddress.Loopback, port);
            if (Socket.OSSupportsIPv6)
            {
                yield return new IPEndPoint(IPAddress.IPv6Loopback, port);
            }
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? ip))
        {
            yield return new IPEndPoint(ip, port);
        }
        else
        {
            yield return new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port);
        }
    }
}
