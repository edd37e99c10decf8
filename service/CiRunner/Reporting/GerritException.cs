namespace CiRunner.Reporting;

/// <summary>Why a Gerrit request failed, which decides what happens next.</summary>
public enum GerritFailure
{
    /// <summary>Down, overloaded or unreachable (5xx, 429, a timeout, a refused connection): try again.</summary>
    Transient,

    /// <summary>The login is missing or refused (401, 403): the operator fixes it; tried again later.</summary>
    Login,

    /// <summary>The change or revision does not exist (404).</summary>
    NotFound,

    /// <summary>Gerrit refused the request as such (400, 409, 412, 422): sending it again would not help.</summary>
    Rejected,
}

/// <summary>A failed Gerrit request. The message names the server, the request and what to do; it never holds a secret.</summary>
public sealed class GerritException : Exception
{
    public GerritException(GerritFailure failure, int? status, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        Status = status;
    }

    public GerritException()
    {
    }

    public GerritException(string message)
        : base(message)
    {
    }

    public GerritException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GerritFailure Failure { get; } = GerritFailure.Transient;

    /// <summary>The HTTP status Gerrit answered with; null when no answer came.</summary>
    public int? Status { get; }
}
