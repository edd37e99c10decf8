using System.Diagnostics;
using CiRunner.Telemetry;

namespace CiRunner.Execution;

/// <summary>
/// Wraps the progress hooks of one job: records each step's duration and a step activity (a child of the job's
/// activity), then hands the call on. Per job, because the step metrics carry the job's cell labels.
/// </summary>
public sealed class TelemetryJobProgress : IJobProgress
{
    private readonly IJobProgress _inner;
    private readonly CiRunnerTelemetry _telemetry;
    private readonly JobLabels _labels;
    private readonly ActivityContext _jobContext;

    public TelemetryJobProgress(IJobProgress inner, CiRunnerTelemetry telemetry, JobLabels labels, ActivityContext jobContext)
    {
        _inner = inner;
        _telemetry = telemetry;
        _labels = labels;
        _jobContext = jobContext;
    }

    public ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken)
    {
        Activity.Current?.SetTag("cirunner.container.id", containerId);
        return _inner.ContainerStartedAsync(job, containerId, imageId, cancellationToken);
    }

    public ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken) =>
        _inner.StepStartedAsync(job, start, cancellationToken);

    public ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.StartedAt is DateTimeOffset startedAt)
        {
            _telemetry.StepFinished(_labels, outcome.Phase, outcome.Name, outcome.Result, outcome.Duration);

            // The step is over when the executor reports it, so its activity is written after the fact with its real times.
            using Activity? activity = CiRunnerTelemetry.ActivitySource.StartActivity(
                $"step {outcome.Name}", ActivityKind.Internal, _jobContext, startTime: startedAt);
            if (activity is not null)
            {
                activity.SetTag("cirunner.step.phase", outcome.Phase);
                activity.SetTag("cirunner.step.index", outcome.Index);
                activity.SetTag("cirunner.step.result", outcome.Result.ToWire());
                activity.SetTag("cirunner.step.changes", changes?.Count ?? 0);
                if (outcome.Result != JobResult.Success)
                {
                    activity.SetStatus(ActivityStatusCode.Error, outcome.Message);
                }

                activity.SetEndTime((startedAt + outcome.Duration).UtcDateTime);
            }
        }

        return _inner.StepFinishedAsync(job, outcome, changes ?? [], cancellationToken);
    }
}
