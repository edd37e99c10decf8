using Quartz;

namespace CiRunner.Scheduling;

/// <summary>A cluster's poll times: the next fire time of the module's trigger in Quartz's shared store.</summary>
internal sealed class QuartzPollSchedule : IPollSchedule
{
    private readonly ISchedulerFactory _schedulerFactory;

    public QuartzPollSchedule(ISchedulerFactory schedulerFactory) => _schedulerFactory = schedulerFactory;

    public async ValueTask<DateTimeOffset?> NextPollAtAsync(string moduleName, CancellationToken cancellationToken)
    {
        IScheduler scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
        return (await scheduler.GetTrigger(PollJob.TriggerKeyFor(moduleName), cancellationToken))?.NextFireTimeUtc;
    }
}
