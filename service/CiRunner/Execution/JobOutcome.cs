namespace CiRunner.Execution;

/// <summary>How a job ended: an expected outcome is a value, whatever the result.</summary>
/// <param name="Result">Success, failure, error, timeout or cancelled.</param>
/// <param name="Summary">One or a few lines for people: what failed and why, with evidence for errors.</param>
/// <param name="Steps">Every step of every phase in order; steps after the one that ended the job are <see cref="JobResult.Skipped"/>.</param>
/// <param name="Changes">Resources an idempotency step changed.</param>
/// <param name="ImageId">Id of the image the container ran, when it was resolved.</param>
/// <param name="ContainerId">Id of the job's container, when it was created.</param>
/// <param name="StartedAt">When the executor started the job (UTC).</param>
/// <param name="Duration">Wall time of the whole job, cleanup included.</param>
public sealed record JobOutcome(
    JobResult Result,
    string Summary,
    IReadOnlyList<StepOutcome> Steps,
    IReadOnlyList<IdempotencyChange> Changes,
    string? ImageId,
    string? ContainerId,
    DateTimeOffset StartedAt,
    TimeSpan Duration)
{
    /// <summary>
    /// Why the job's infrastructure <see cref="JobResult.Error"/> need not happen again: the engine stopped answering
    /// or restarted, the connection to it broke, or the container was killed from outside (not for lack of memory).
    /// Null for every other end, and for deterministic errors (a missing image without a recipe, a broken module set,
    /// a command that the image does not have: exit 125, 126, 127). The executor only reports it;
    /// <c>Results.RetryPolicy</c> decides whether the cell gets another attempt.
    /// </summary>
    public string? TransientCause { get; init; }

    /// <summary>The package snapshot the job's container mounted (part of its lockfile); null when it needed none.</summary>
    public PackageSnapshotInfo? PackageSnapshot { get; init; }

    /// <summary>The phase snapshot the job started from, and the ones it made (<c>Snapshots</c>).</summary>
    public IReadOnlyList<PhaseSnapshot> PhaseSnapshots { get; init; } = [];
}

/// <summary>How one step ended.</summary>
/// <param name="Phase">Phase name.</param>
/// <param name="Index">0-based position among all steps of the job.</param>
/// <param name="Name">Step name.</param>
/// <param name="Kind">Apply, idempotency, command or tempest.</param>
/// <param name="Result">The step's result.</param>
/// <param name="ExitCode">Exit code of the step's process; null when it never ran or was killed before it ended.</param>
/// <param name="StartedAt">When the step started (UTC); null for skipped steps.</param>
/// <param name="Duration">Wall time of the step.</param>
/// <param name="Message">Why the step did not succeed; null on success.</param>
public sealed record StepOutcome(
    string Phase,
    int Index,
    string Name,
    StepKind Kind,
    JobResult Result,
    long? ExitCode,
    DateTimeOffset? StartedAt,
    TimeSpan Duration,
    string? Message)
{
    /// <summary>Every test a tempest step ran, as its results say; empty for other steps (and a tempest step without results).</summary>
    public IReadOnlyList<TempestTestResult> TempestTests { get; init; } = [];
}

/// <summary>The step that is about to run, for progress reporting.</summary>
public sealed record StepStart(string Phase, int Index, string Name, StepKind Kind, IReadOnlyList<string> Command, DateTimeOffset StartedAt);

/// <summary>A resource that an idempotency step changed, read from Puppet's report.</summary>
/// <param name="ResourceType">Puppet type (<c>File</c>, <c>Exec</c>).</param>
/// <param name="Title">Resource title (<c>/etc/demo.conf</c>).</param>
/// <param name="Property">Changed property (<c>content</c>, <c>mode</c>, <c>returns</c>); null when Puppet recorded no event.</param>
/// <param name="OldValue">Value before the run, as Puppet reported it.</param>
/// <param name="NewValue">Value after the run (Puppet's desired value).</param>
/// <param name="Module">Module whose manifest declares the resource, when Puppet names a manifest under <c>/cirunner/modules</c>.</param>
/// <param name="File">Manifest that declares the resource, when Puppet says.</param>
/// <param name="Line">Line in that manifest.</param>
public sealed record IdempotencyChange(
    string ResourceType,
    string Title,
    string? Property,
    string? OldValue,
    string? NewValue,
    string? Module,
    string? File,
    int? Line)
{
    /// <summary><c>File[/etc/x]</c>, as Puppet writes resource references.</summary>
    public string Resource => $"{ResourceType}[{Title}]";

    /// <summary>One line for summaries: <c>File[/etc/x] content: old -> new (module demo)</c>.</summary>
    public string Describe()
    {
        string text = Resource;
        if (Property is not null)
        {
            text += $" {Property}: {OldValue ?? "absent"} -> {NewValue ?? "absent"}";
        }

        return Module is null ? text : $"{text} (module {Module})";
    }
}
