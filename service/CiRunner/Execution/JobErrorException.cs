namespace CiRunner.Execution;

/// <summary>An infrastructure failure whose message already says what went wrong and what to do.</summary>
internal sealed class JobErrorException : Exception
{
    /// <summary>The container's output ended before the job did: whether that happens again depends on who ended it.</summary>
    public bool ContainerEnded { get; init; }

    public JobErrorException()
    {
    }

    public JobErrorException(string message)
        : base(message)
    {
    }

    public JobErrorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
