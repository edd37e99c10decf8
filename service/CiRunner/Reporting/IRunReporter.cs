using CiRunner.Results;

namespace CiRunner.Reporting;

/// <summary>
/// One destination of finished runs (Gerrit, JUnit, a webhook). The report dispatcher calls it through the outbox:
/// once per run it applies to, again after a <see cref="ReportOutcomeKind.Retry"/>, also after a restart. A reporter
/// must therefore be idempotent: reporting a run twice must not show twice.
/// </summary>
public interface IRunReporter
{
    /// <summary>The name reports are stored under: <c>junit</c>, <c>gerrit</c>, <c>webhook:&lt;name&gt;</c>.</summary>
    string Name { get; }

    /// <summary>Whether the run is this reporter's to report (decided once, when the run finishes).</summary>
    bool AppliesTo(RunRecord run);

    /// <summary>Delivers the report. Expected trouble is an outcome, not an exception; errors in it are free of secrets.</summary>
    Task<ReportOutcome> ReportAsync(FinishedRun run, CancellationToken cancellationToken);
}

/// <summary>How a delivery attempt ended.</summary>
public enum ReportOutcomeKind
{
    Sent,

    /// <summary>Deliberately not delivered (compliance rules); the operator is told.</summary>
    Held,

    /// <summary>Nothing to deliver.</summary>
    Skipped,

    /// <summary>Refused for good; trying again would be refused again.</summary>
    Failed,

    /// <summary>Not delivered this time (the other side is down, the login is wrong); tried again later.</summary>
    Retry,
}

/// <summary>The outcome of one delivery attempt and what it says: what was sent, or why not.</summary>
public sealed record ReportOutcome(ReportOutcomeKind Kind, string Detail)
{
    public static ReportOutcome Sent(string detail) => new(ReportOutcomeKind.Sent, detail);

    public static ReportOutcome Held(string reason) => new(ReportOutcomeKind.Held, reason);

    public static ReportOutcome Skipped(string reason) => new(ReportOutcomeKind.Skipped, reason);

    public static ReportOutcome Failed(string error) => new(ReportOutcomeKind.Failed, error);

    public static ReportOutcome Retry(string error) => new(ReportOutcomeKind.Retry, error);
}
