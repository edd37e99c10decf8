
namespace CiRunner.Results;

/// <summary>A finished step to record.</summary>
/// <param name="Ordinal">Position in the job, from 1; unique within the job.</param>
/// <param name="Phase">Which part of the job it belongs to (<c>deploy</c>, <c>upgrade</c>, <c>rollback</c>).</param>
/// <param name="Name">Name from the scenario.</param>
/// <param name="Kind">Apply, idempotency or command.</param>
/// <param name="StartedAt">When the step's process started.</param>
/// <param name="FinishedAt">When it ended; the stored duration is the difference.</param>
/// <param name="ExitCode">The process exit code; null when it never ran to an exit (timeout, infrastructure error).</param>
/// <param name="Result">How the step ended.</param>
public sealed record NewStep(
    int Ordinal,
    string Phase,
    string Name,
    StepKind Kind,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    int? ExitCode,
    JobResult Result);

/// <summary>A stored step.</summary>
public sealed record StepRecord(
    long Id,
    long JobId,
    int Ordinal,
    string Phase,
    string Name,
    StepKind Kind,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    TimeSpan Duration,
    int? ExitCode,
    JobResult Result);

/// <summary>A resource property the idempotency apply changed, as Puppet's report describes it.</summary>
/// <param name="ResourceType">Puppet type (<c>Keystone_config</c>).</param>
/// <param name="Title">Resource title.</param>
/// <param name="Property">The property that changed (<c>value</c>, <c>ensure</c>).</param>
/// <param name="PreviousValue">Value before the apply.</param>
/// <param name="DesiredValue">Value the catalog asked for.</param>
/// <param name="Module">Module whose code declared the resource, when known.</param>
/// <param name="ManifestFile">Manifest that declared it.</param>
/// <param name="Line">Line in <paramref name="ManifestFile"/>.</param>
public sealed record NewIdempotencyChange(
    string ResourceType,
    string Title,
    string Property,
    string? PreviousValue,
    string? DesiredValue,
    string? Module,
    string? ManifestFile,
    int? Line);

/// <summary>A stored Tempest test: one test of a tempest step's run (see <see cref="TempestTestResult"/>).</summary>
/// <param name="Id">Row id.</param>
/// <param name="JobId">The job.</param>
/// <param name="StepId">The tempest step that ran it.</param>
/// <param name="Phase">That step's phase (<c>deploy</c>, <c>upgrade</c>, <c>rollback</c>).</param>
/// <param name="StepOrdinal">That step's ordinal in the job.</param>
/// <param name="TestId">Tempest's test id, attributes included.</param>
/// <param name="ClassName">The test class.</param>
/// <param name="Status">Passed, failed or skipped.</param>
/// <param name="Duration">As Tempest measured it.</param>
/// <param name="Traceback">A failed test's traceback.</param>
/// <param name="SkipReason">A skipped test's reason.</param>
public sealed record TempestTestRecord(
    long Id,
    long JobId,
    long StepId,
    string Phase,
    int StepOrdinal,
    string TestId,
    string ClassName,
    TempestTestStatus Status,
    TimeSpan Duration,
    string? Traceback,
    string? SkipReason)
{
    /// <summary>The id without its attributes (<c>[id-...,smoke]</c>).</summary>
    public string ShortName => TempestText.WithoutAttributes(TestId);

    /// <summary>The exception a failed test ended with, when its traceback says.</summary>
    public string? FailureLine => Traceback is null ? null : TempestText.FailureLine(Traceback);
}

/// <summary>A stored idempotency change.</summary>
public sealed record IdempotencyChangeRecord(
    long Id,
    long JobId,
    long StepId,
    string ResourceType,
    string Title,
    string Property,
    string? PreviousValue,
    string? DesiredValue,
    string? Module,
    string? ManifestFile,
    int? Line);
