namespace CiRunner.Execution;

/// <summary>
/// Hooks the executor calls while a job runs, so the store, live progress and metrics can follow it. Calls
/// for one job are sequential. An exception from a hook ends the job as <see cref="JobResult.Error"/>.
/// </summary>
public interface IJobProgress
{
    /// <summary>The container exists and is started; <paramref name="imageId"/> is the resolved image.</summary>
    ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken);

    ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken);

    /// <summary>A step ended; <paramref name="changes"/> holds what an idempotency step changed (empty otherwise).</summary>
    ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken);
}

/// <summary>Progress hooks that do nothing.</summary>
public sealed class NullJobProgress : IJobProgress
{
    public static readonly NullJobProgress Instance = new();

    private NullJobProgress()
    {
    }

    public ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
