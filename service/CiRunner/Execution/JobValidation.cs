using CiRunner.Matrix;

namespace CiRunner.Execution;

/// <summary>What a job must be before the executor starts it: a job that is not ends in an error naming what is wrong.</summary>
internal static class JobValidation
{
    /// <summary>Timers take at most about 24.8 days (int.MaxValue milliseconds); a job never needs that long.</summary>
    public static readonly TimeSpan MaximumTimeout = TimeSpan.FromDays(24);

    /// <summary>What is wrong with <paramref name="job"/>, or null when it can run.</summary>
    public static string? Validate(JobSpec job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Phases.Count == 0)
        {
            return "the job has no phases";
        }

        foreach (JobPhase phase in job.Phases)
        {
            foreach (StepDefinition step in phase.Steps)
            {
                if (step.Kind is StepKind.Apply or StepKind.Idempotency && string.IsNullOrEmpty(phase.Manifest))
                {
                    return $"step '{step.Name}' of phase {phase.Name} applies a manifest, but the phase has none";
                }

                if (step.Kind == StepKind.Command && step.Command.Count == 0)
                {
                    return $"command step '{step.Name}' of phase {phase.Name} has an empty command";
                }

                if (step.Timeout <= TimeSpan.Zero || step.Timeout > MaximumTimeout)
                {
                    return $"step '{step.Name}' of phase {phase.Name} has a timeout of {step.Timeout}, outside (0, {MaximumTimeout.TotalDays} days]";
                }
            }
        }

        return job.JobTimeout <= TimeSpan.Zero || job.JobTimeout > MaximumTimeout
            ? $"the job timeout {job.JobTimeout} is outside (0, {MaximumTimeout.TotalDays} days]"
            : null;
    }
}
