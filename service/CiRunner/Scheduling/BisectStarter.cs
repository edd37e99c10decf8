using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;

namespace CiRunner.Scheduling;

/// <summary>
/// Turns the requests red cells leave (<c>bisect_requests</c>, written with the red job's end) into bisects: reads
/// the two lockfiles and the commit history (git, never inside a store transaction), stores each bisect with its run
/// and first step, and queues that step. It wakes when a job asks (<see cref="BisectSignal"/>) and once at start for
/// requests left by a stop; an idle service reads nothing. With <c>Bisect:Enabled</c> off requests are dropped.
/// </summary>
public sealed partial class BisectStarter : BackgroundService
{
    private const int BatchSize = 20;

    private readonly BisectSignal _signal;
    private readonly BisectStore _bisects;
    private readonly RunStore _runs;
    private readonly JobStore _jobs;
    private readonly JobQueue _queue;
    private readonly ModuleSetResolver _resolver;
    private readonly CiRunnerSettings _settings;
    private readonly ILogger<BisectStarter> _logger;

    public BisectStarter(
        BisectSignal signal, BisectStore bisects, RunStore runs, JobStore jobs, JobQueue queue, ModuleSetResolver resolver, CiRunnerSettings settings, ILogger<BisectStarter> logger)
    {
        _signal = signal;
        _bisects = bisects;
        _runs = runs;
        _jobs = jobs;
        _queue = queue;
        _resolver = resolver;
        _settings = settings;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await StartWaitingAsync(stoppingToken) == BatchSize)
                {
                }

                await _signal.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A locked database must not end bisecting for good: the requests stay, and the next red job wakes it.
                LogStartFailed(e);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Starts the bisects of the waiting requests (up to a batch); returns how many requests it took.</summary>
    public async Task<int> StartWaitingAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<(long BadJobId, long GoodJobId)> requests = await _bisects.ListRequestsAsync(BatchSize, cancellationToken);
        foreach ((long badJobId, long goodJobId) in requests)
        {
            try
            {
                if (_settings.Bisect.Enabled)
                {
                    await StartAsync(badJobId, goodJobId, cancellationToken);
                }
            }
            catch (Exception e) when (e is LibGit2Sharp.LibGit2SharpException or IOException)
            {
                // A broken mirror must not hold up every later request; this red job goes without a bisect.
                LogNoBisect(badJobId, goodJobId, e.Message);
            }

            await _bisects.DeleteRequestAsync(badJobId, cancellationToken);
        }

        return requests.Count;
    }

    private async Task StartAsync(long badJobId, long goodJobId, CancellationToken cancellationToken)
    {
        JobRecord? badJob = await _jobs.GetAsync(badJobId, cancellationToken);
        JobRecord? goodJob = await _jobs.GetAsync(goodJobId, cancellationToken);
        RunRecord? badRun = badJob is null ? null : await _runs.GetAsync(badJob.RunId, cancellationToken);
        RunRecord? goodRun = goodJob is null ? null : await _runs.GetAsync(goodJob.RunId, cancellationToken);
        JobLockfile? badLockfile = await _jobs.GetLockfileAsync(badJobId, cancellationToken);
        JobLockfile? goodLockfile = await _jobs.GetLockfileAsync(goodJobId, cancellationToken);
        if (badJob is null || badRun is null || goodRun is null || badLockfile?.ImageId is null || goodLockfile is null)
        {
            LogNoBisect(badJobId, goodJobId, "one of the two jobs is gone or has no complete lockfile");
            return;
        }

        if (_settings.FindModule(badRun.Module) is not { } module)
        {
            LogModuleGone(badJobId, badRun.Module);
            return;
        }

        BisectPlan plan;
        try
        {
            plan = BisectPlanner.Plan(goodRun, goodJobId, goodLockfile, badRun, badJob, badLockfile, module, _resolver, _settings.Bisect);
        }
        catch (ModuleSetException e)
        {
            LogNoBisect(badJobId, goodJobId, e.Message);
            return;
        }

        if (plan.NoneBecause is { } why)
        {
            LogNoBisect(badJobId, goodJobId, why);
        }

        foreach (NewBisect bisect in plan.Bisects)
        {
            var firstStep = new NewJob(badJob.CellKey, badJob.Kind, badJob.Release, badJob.FromRelease, badJob.Scenario);
            (BisectRecord started, RunDetail run) = await _bisects.CreateAsync(bisect, firstStep, cancellationToken);
            foreach (JobRecord step in run.Jobs)
            {
                _queue.Enqueue(QueuedJob.For(step));
            }

            LogBisectStarted(started.Id, run.Run.Id, badJob.CellKey, started.TargetModule, bisect.Commits.Count - 1, badJobId, goodJobId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Bisect {BisectId} (run {RunId}) of cell {CellKey}: {Commits} commits of {Module} between green job {GoodJobId} and red job {BadJobId}")]
    private partial void LogBisectStarted(long bisectId, long runId, string cellKey, string module, int commits, long badJobId, long goodJobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "No bisect for red job {BadJobId} (last green job {GoodJobId}): {Reason}")]
    private partial void LogNoBisect(long badJobId, long goodJobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "No bisect for red job {BadJobId}: module {Module} is no longer configured")]
    private partial void LogModuleGone(long badJobId, string module);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bisects could not be started now; the requests stay")]
    private partial void LogStartFailed(Exception exception);
}
