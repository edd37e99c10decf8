using Quartz;

namespace CiRunner.Scheduling;

/// <summary>
/// A job a later stage adds to the persistent schedule (Reporting's recheck poll). The synchronizer calls every source
/// at start after its own jobs, so a stage above Scheduling schedules its work without Scheduling knowing it.
/// </summary>
public interface IScheduledJobSource
{
    /// <summary>Makes the stored job and trigger match the configuration: adds, updates or deletes them.</summary>
    Task SynchronizeAsync(IScheduler scheduler, CancellationToken cancellationToken);
}
