using CiRunner.Results;

namespace CiRunner.Execution;

/// <summary>Writes a running job's progress into the results store as it happens, so <c>show</c> and the dashboard follow it.</summary>
public sealed class JobRecorder : IJobProgress
{
    private readonly JobProgressStore _jobs;

    public JobRecorder(JobProgressStore jobs)
    {
        _jobs = jobs;
    }

    public async ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await _jobs.SetImageAsync(job.JobId, imageId, cancellationToken);
    }

    public ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(changes);
        if (outcome.StartedAt is not DateTimeOffset startedAt)
        {
            // Skipped steps never ran; the job summary says why.
            return;
        }

        StepRecord step = await _jobs.AddStepAsync(
            job.JobId,
            new NewStep(
                outcome.Index,
                outcome.Phase,
                outcome.Name,
                outcome.Kind,
                startedAt,
                startedAt + outcome.Duration,
                outcome.ExitCode is long exitCode ? (int)exitCode : null,
                outcome.Result),
            cancellationToken);
        if (changes.Count > 0)
        {
            await _jobs.AddIdempotencyChangesAsync(
                job.JobId,
                step.Id,
                changes.Select(change => new NewIdempotencyChange(
                    change.ResourceType, change.Title, change.Property ?? "", change.OldValue, change.NewValue, change.Module, change.File, change.Line)).ToList(),
                cancellationToken);
        }

        if (outcome.TempestTests.Count > 0)
        {
            await _jobs.AddTempestTestsAsync(job.JobId, step.Id, outcome.TempestTests, cancellationToken);
        }
    }
}
