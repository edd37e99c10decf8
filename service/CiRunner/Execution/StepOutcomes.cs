using System.Globalization;
using CiRunner.Matrix;
using Docker.DotNet;
using static CiRunner.Execution.JobSummaries;

namespace CiRunner.Execution;

/// <summary>
/// Starts and ends a job's steps: logs and reports a step's start, decides its result from its exit code (with apt's
/// errors, Puppet's report and Tempest's results read where they decide it), and records the outcome in the job, the
/// job log and the progress, also when the job was cancelled.
/// </summary>
internal sealed partial class StepOutcomes
{
    // Puppet's last_run_report of a whole OpenStack node is a few MB; the bound only stops a runaway file.
    private const long MaxReportBytes = 256L * 1024 * 1024;

    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ExecutorOptions _options;

    public StepOutcomes(IDockerClient docker, TimeProvider timeProvider, ILogger logger, ExecutorOptions options)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
        _options = options;
    }

    public async Task<StepRun> StartAsync(JobRun run, JobPhase phase, StepDefinition step, int index, IJobProgress progress, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> command = StepCommands.For(step, phase.Manifest);
        string label = $"step {index + 1}/{run.TotalSteps} {phase.Name}/{step.Name}";
        run.Stage = $"running {label}";
        var started = new StepRun(phase, step, index, command, label, _timeProvider.GetUtcNow(), _timeProvider.GetTimestamp());
        await run.Log!.StepHeaderAsync(label, step.Kind, step.Timeout, Quote(command), cancellationToken);
        await progress.StepStartedAsync(run.Job, new StepStart(phase.Name, index, step.Name, step.Kind, command, started.StartedAt), cancellationToken);
        return started;
    }

    /// <summary>Ends a step that exited with <paramref name="exitCode"/>; the container is still there, waiting for the answer.</summary>
    public async Task<StepOutcome> FinishAsync(JobRun run, StepRun step, long exitCode, IJobProgress progress, CancellationToken cancellationToken)
    {
        (JobResult result, string? message) = StepCommands.Interpret(step.Step.Kind, exitCode);
        IReadOnlyList<IdempotencyChange> changes = [];
        IReadOnlyList<TempestTestResult> tests = [];
        if (result == JobResult.Error)
        {
            message = $"could not start `{Quote(step.Command)}` in image {run.Job.Image}: {run.Evidence($"exit {exitCode}", exitCode, _options.EvidenceLines)}";
        }
        else if (result == JobResult.Failure && step.PackageInstall.Describe(run.Job.Image, run.Job.Release) is { } missing)
        {
            // Offline, apt can only fail for want of the package in the image: the environment's fault, not the module's.
            result = JobResult.Error;
            message = missing;
        }
        else if (step.Step.Kind == StepKind.Idempotency && StepCommands.PuppetReportedChanges(exitCode))
        {
            // The script waits for an answer, so the container, and Puppet's report in it, are still there.
            (changes, string? readError) = await ReadChangesAsync(run, cancellationToken);
            message += readError is null
                ? $"; changed: {string.Join("; ", changes.Select(c => c.Describe()))}"
                : $"; the changed resources could not be read from Puppet's report: {readError}";
        }
        else if (step.Step.Kind == StepKind.Tempest)
        {
            // The script waits for an answer, so the container, and Tempest's results in it, are still there.
            (result, message, tests) = await TempestResults.ReadAsync(_docker, run.ContainerId!, exitCode, cancellationToken);
        }

        return await RecordAsync(run, step, result, exitCode, message, changes, progress, tests);
    }

    /// <summary>Records a step's outcome; the step's end is recorded even when the job was cancelled (bounded by the cleanup timeout instead).</summary>
    public async Task<StepOutcome> RecordAsync(
        JobRun run, StepRun step, JobResult result, long? exitCode, string? message, IReadOnlyList<IdempotencyChange> changes, IJobProgress progress, IReadOnlyList<TempestTestResult>? tests = null)
    {
        TimeSpan duration = _timeProvider.GetElapsedTime(step.StartedTimestamp);
        var outcome = new StepOutcome(step.Phase.Name, step.Index, step.Step.Name, step.Step.Kind, result, exitCode, step.StartedAt, duration, message) { TempestTests = tests ?? [] };
        run.Steps.Add(outcome);
        run.Changes.AddRange(changes);
        LogStepFinished(_logger, run.Job.RunId, run.Job.JobId, step.Step.Name, result, exitCode, duration.TotalSeconds);

        using var record = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        await run.Log!.EventAsync(
            $"{step.Label}: {result.ToWire()}, exit {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {duration.TotalSeconds:F2} s" +
            (message is null ? "" : $" - {message}"),
            record.Token);
        await progress.StepFinishedAsync(run.Job, outcome, changes, record.Token);
        return outcome;
    }

    /// <summary>The job's summary when it ended at <paramref name="step"/>.</summary>
    public string Summary(JobRun run, StepOutcome step) => JobSummaries.Step(step, run.Log!.Tail(_options.EvidenceLines * 2));

    private async Task<(IReadOnlyList<IdempotencyChange> Changes, string? Error)> ReadChangesAsync(JobRun run, CancellationToken cancellationToken)
    {
        (string? yaml, string? problem) = await ContainerFile.ReadTextAsync(_docker, run.ContainerId!, StepCommands.LastRunReportPath, MaxReportBytes, cancellationToken);
        if (yaml is null)
        {
            return ([], problem);
        }

        try
        {
            return (PuppetReportParser.ParseChanges(yaml), null);
        }
        catch (FormatException ex)
        {
            return ([], Describe(ex));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId}: step {Step} {Result} (exit {ExitCode}) in {Seconds:F2} s")]
    private static partial void LogStepFinished(ILogger logger, long runId, long jobId, string step, JobResult result, long? exitCode, double seconds);
}

/// <summary>A step that has started: what runs, and since when.</summary>
internal sealed record StepRun(JobPhase Phase, StepDefinition Step, int Index, IReadOnlyList<string> Command, string Label, DateTimeOffset StartedAt, long StartedTimestamp)
{
    /// <summary>Watches the step's output for a package apt could not install.</summary>
    public PackageInstallFailure PackageInstall { get; } = new();
}
