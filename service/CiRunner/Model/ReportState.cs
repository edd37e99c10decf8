namespace CiRunner.Model;

/// <summary>Where a run's report to one reporter stands. Spelled as <see cref="WireNames"/> says.</summary>
public enum ReportState
{
    /// <summary>Not delivered yet; due at the report's next attempt time.</summary>
    Pending,

    Sent,

    /// <summary>Not posted on purpose (an infrastructure error, a merge conflict): the operator decides what to do.</summary>
    Held,

    /// <summary>Refused for good by the other side (an unknown change, a rejected request).</summary>
    Failed,

    /// <summary>Nothing to report (no jobs ran, the change was superseded or closed).</summary>
    Skipped,
}
