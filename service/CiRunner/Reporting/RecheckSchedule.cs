using CiRunner.Configuration;
using CiRunner.Scheduling;
using Quartz;

namespace CiRunner.Reporting;

/// <summary>Keeps <see cref="RecheckJob"/> in the schedule while a Gerrit section is configured, and removes it otherwise.</summary>
internal sealed partial class RecheckSchedule : IScheduledJobSource
{
    private readonly CiRunnerSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RecheckSchedule> _logger;

    public RecheckSchedule(CiRunnerSettings settings, TimeProvider timeProvider, ILogger<RecheckSchedule> logger)
    {
        _settings = settings;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The recheck poll, only with a Gerrit section; an unchanged interval keeps its stored trigger.</summary>
    public async Task SynchronizeAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        if (_settings.Gerrit is not { } gerrit)
        {
            await scheduler.DeleteJob(RecheckJob.Key, cancellationToken);
            return;
        }

        IJobDetail job = JobBuilder.Create<RecheckJob>().WithIdentity(RecheckJob.Key).WithDescription("Read Gerrit comments for recheck").StoreDurably().Build();
        await scheduler.AddJob(job, AddJobOptions.Replacing, cancellationToken);
        if (await scheduler.GetTrigger(RecheckJob.TriggerKey, cancellationToken) is ISimpleTrigger existing && existing.RepeatInterval == gerrit.RecheckInterval)
        {
            return;
        }

        ITrigger trigger = TriggerBuilder.Create(_timeProvider)
            .WithIdentity(RecheckJob.TriggerKey)
            .ForJob(RecheckJob.Key)
            .StartAt(_timeProvider.GetUtcNow())
            .WithSchedule(SimpleScheduleBuilder.Create()
                .WithInterval(gerrit.RecheckInterval)
                .RepeatForever()

                // Missed polls are not worth catching up one by one: the next poll reads everything since the last.
                .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();
        await scheduler.ScheduleJob(trigger, ScheduleJobOptions.Replacing, cancellationToken);
        LogRecheckScheduled(gerrit.RecheckInterval);
    }

    [LoggerMessage(EventId = 6305, Level = LogLevel.Information, Message = "Reading Gerrit comments for recheck every {Interval}")]
    private partial void LogRecheckScheduled(TimeSpan interval);
}
