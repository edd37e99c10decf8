namespace CiRunner.Execution;

/// <summary>
/// What failed between CiRunner and a Docker engine. Docker.DotNet reports a refused TCP connect (a <c>tcp://</c>
/// engine that is down) as an <see cref="AggregateException"/> of the connect attempts' socket errors, where a unix
/// socket gives the <see cref="System.Net.Sockets.SocketException"/> itself; both must read as "the engine did not answer".
/// </summary>
internal static class EngineTransport
{
    /// <summary>The first inner failure of an <see cref="AggregateException"/> (all are attempts at the same engine), else the failure itself.</summary>
    public static Exception Unwrap(Exception failure) =>
        failure is AggregateException aggregate && aggregate.Flatten().InnerExceptions is [var first, ..] ? first : failure;
}
