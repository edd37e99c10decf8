using CiRunner.Configuration;
using CiRunner.Matrix;
using Quartz;

namespace CiRunner.Scheduling;

/// <summary>
/// Makes the persistent schedule match the configuration before the scheduler starts (<see cref="SchedulerStart"/>): in a cluster a poll job and trigger per module, the
/// nightly trigger, the jobs of every <see cref="IScheduledJobSource"/>, and nothing for modules no longer configured. A trigger whose schedule did not change is
/// kept as stored, so its next fire time and any misfire from while the service was down survive the restart.
/// </summary>
internal sealed partial class ScheduleSynchronizer
{
    private readonly ISchedulerFactory _schedulerFactory;
    private readonly CiRunnerSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly IEnumerable<IScheduledJobSource> _sources;
    private readonly ILogger<ScheduleSynchronizer> _logger;

    public ScheduleSynchronizer(
        ISchedulerFactory schedulerFactory, CiRunnerSettings settings, IEnumerable<IScheduledJobSource> sources, TimeProvider timeProvider, ILogger<ScheduleSynchronizer> logger)
    {
        _sources = sources;
        _schedulerFactory = schedulerFactory;
        _settings = settings;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>
    /// The offset of a module's first poll within <paramref name="jitter"/>. Derived from the name rather than
    /// random, so a restart that re-creates the triggers spreads the modules the same way.
    /// </summary>
    public static TimeSpan FirstPollOffset(string module, TimeSpan jitter)
    {
        // FNV-1a: string.GetHashCode differs between processes.
        uint hash = 2166136261;
        foreach (char c in module)
        {
            hash = (hash ^ c) * 16777619;
        }

        return TimeSpan.FromTicks((long)(jitter.Ticks * (hash / (double)uint.MaxValue)));
    }

    public async Task SynchronizeAsync(CancellationToken cancellationToken)
    {
        IScheduler scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
        DateTimeOffset now = _timeProvider.GetUtcNow();
        var configured = new HashSet<JobKey>();

        // One instance fires its polls in process (PollClock); poll jobs stored by an earlier version are removed below.
        foreach (TrackedModule module in _settings.Store.IsPostgreSql ? _settings.Modules : [])
        {
            JobKey jobKey = PollJob.KeyFor(module.Name);
            configured.Add(jobKey);
            IJobDetail job = JobBuilder.Create<PollJob>()
                .WithIdentity(jobKey)
                .WithDescription($"Poll {module.Name}")
                .UsingJobData(PollJob.ModuleDataKey, module.Name)
                .StoreDurably()
                .Build();
            await scheduler.AddJob(job, AddJobOptions.Replacing, cancellationToken);

            TriggerKey triggerKey = PollJob.TriggerKeyFor(module.Name);
            if (await scheduler.GetTrigger(triggerKey, cancellationToken) is ISimpleTrigger existing && existing.RepeatInterval == _settings.Schedule.PollInterval)
            {
                continue;
            }

            ITrigger trigger = TriggerBuilder.Create(_timeProvider)
                .WithIdentity(triggerKey)
                .ForJob(jobKey)
                .StartAt(now + FirstPollOffset(module.Name, _settings.Schedule.PollJitter))
                .WithSchedule(SimpleScheduleBuilder.Create()
                    .WithInterval(_settings.Schedule.PollInterval)
                    .RepeatForever()

                    // After a long stop, wait for the module's next slot rather than firing every module at once:
                    // "now" would restart all triggers in the same second and undo the jitter for good. Nothing is
                    // missed either way; the next poll compares with the heads stored before the stop.
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build();
            await scheduler.ScheduleJob(trigger, ScheduleJobOptions.Replacing, cancellationToken);
            LogPollScheduled(module.Name, _settings.Schedule.PollInterval, trigger.StartTimeUtc);
        }

        foreach (JobKey stale in (await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(PollJob.Group), cancellationToken)).Where(k => !configured.Contains(k)))
        {
            await scheduler.DeleteJob(stale, cancellationToken);
            if (_settings.FindModule(stale.Name) is null)
            {
                LogPollRemoved(stale.Name);
            }
        }

        await SynchronizeNightlyAsync(scheduler, cancellationToken);
        await SynchronizeRetentionAsync(scheduler, cancellationToken);
        foreach (IScheduledJobSource source in _sources)
        {
            await source.SynchronizeAsync(scheduler, cancellationToken);
        }
    }

    private Task SynchronizeNightlyAsync(IScheduler scheduler, CancellationToken cancellationToken) =>
        SynchronizeCronJobAsync<NightlyJob>(scheduler, NightlyJob.Key, NightlyJob.TriggerKey, "Nightly matrix", _settings.Schedule.NightlyCron, cancellationToken);

    private async Task SynchronizeRetentionAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        if (!_settings.Retention.Enabled)
        {
            await scheduler.DeleteJob(RetentionJob.Key, cancellationToken);
            return;
        }

        await SynchronizeCronJobAsync<RetentionJob>(scheduler, RetentionJob.Key, RetentionJob.TriggerKey, "Retention: prune old logs and job details", _settings.Retention.Cron, cancellationToken);
    }

    /// <summary>Stores a cron-driven job; an unchanged trigger is kept, so its next fire time survives a restart.</summary>
    private async Task SynchronizeCronJobAsync<TJob>(IScheduler scheduler, JobKey jobKey, TriggerKey triggerKey, string description, string cron, CancellationToken cancellationToken)
        where TJob : IJob
    {
        IJobDetail job = JobBuilder.Create<TJob>().WithIdentity(jobKey).WithDescription(description).StoreDurably().Build();
        await scheduler.AddJob(job, AddJobOptions.Replacing, cancellationToken);
        if (await scheduler.GetTrigger(triggerKey, cancellationToken) is ICronTrigger existing && existing.CronExpressionString == cron)
        {
            return;
        }

        ITrigger trigger = TriggerBuilder.Create(_timeProvider)
            .WithIdentity(triggerKey)
            .ForJob(jobKey)
            .WithSchedule(CronScheduleBuilder.Create(cron)

                // A run missed while the service was down runs once when it is back.
                .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed))
            .Build();
        try
        {
            await scheduler.ScheduleJob(trigger, ScheduleJobOptions.Replacing, cancellationToken);
            LogCronScheduled(description, cron);
        }
        catch (SchedulerException e)
        {
            // A valid cron can still be over (a one-off date with a year in the past); polling goes on without it.
            LogCronNotScheduled(description, cron, e.Message);
        }
    }

    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Polling {Module} every {Interval}, first at {FirstPoll}")]
    private partial void LogPollScheduled(string module, TimeSpan interval, DateTimeOffset firstPoll);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "Removed the poll job of {Module}, which is no longer configured")]
    private partial void LogPollRemoved(string module);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Information, Message = "{Job} scheduled by cron {Cron}")]
    private partial void LogCronScheduled(string job, string cron);

    [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "{Job} not scheduled: cron {Cron} ({Reason})")]
    private partial void LogCronNotScheduled(string job, string cron, string reason);
}
