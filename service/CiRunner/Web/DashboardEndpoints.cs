using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Web.Pages;

namespace CiRunner.Web;

/// <summary>
/// The server-rendered dashboard: the matrix (<c>/</c>), runs, a run, a job with its log, the queue, the
/// modules and the CI health figures. Plain links and tables, no script; pages of running work reload themselves.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>The job page shows this much of the end of the log; the whole log is one link away.</summary>
    private const int LogTailBytes = 256 * 1024;

    private const int RefreshSeconds = 5;

    public static void MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder pages = endpoints.MapGroup("").AddEndpointFilter(ApiAccess.RequirePageAccess);
        pages.MapGet("/", MatrixAsync);
        pages.MapGet("/runs", RunsAsync);
        pages.MapGet("/runs/{id:long}", RunAsync);
        pages.MapGet("/jobs/{id:long}", JobAsync);
        pages.MapGet("/queue", QueueAsync);
        pages.MapGet("/modules", ModulesAsync);
        pages.MapGet("/health", HealthAsync);

        // A write action from a page: the browser's login cookie (SameSite strict, so no other site can send it) or the token.
        endpoints.MapPost("/jobs/{id:long}/replay", ReplayAsync).AddEndpointFilter(DatabaseLockedAnswer.Filter);
    }

    private static async Task<IResult> MatrixAsync(
        CellResultStore cells,
        CellHistoryStore history,
        BisectStore bisects,
        FlakeStore flakes,
        CiRunnerSettings settings,
        ScenarioCatalog catalog,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<CellResultRecord> all = await cells.ListAllAsync(cancellationToken);
        IReadOnlyDictionary<(string Module, string Branch, string CellKey), IReadOnlyList<CellStripEntry>> strips = await history.ListStripsAsync(MatrixGrid.StripLength, cancellationToken);
        List<long> red = all.Where(c => c.Result is JobResult.Failure or JobResult.Timeout).Select(c => c.JobId).ToList();
        IReadOnlyList<BisectRecord> found = await bisects.OfRedJobsAsync(red, cancellationToken);
        return PageResult.Render<MatrixPage>(new
        {
            ScenarioWarning = ScenarioEndpoints.Warning(catalog.Refresh()),
            Grids = MatrixGrid.From(all, settings, strips),
            Bisects = found.GroupBy(b => b.BadJobId!.Value).ToDictionary(g => g.Key, g => (IReadOnlyList<BisectRecord>)g.ToList()),
            Flakes = await flakes.LedgerAsync(null, null, settings.Flakes.Window, withFailures: false, cancellationToken),
            FlakeWindow = settings.Flakes.Window,
            FlakeThreshold = settings.Flakes.VoteThreshold,
            Now = time.GetUtcNow(),
        });
    }

    private static async Task<IResult> RunsAsync(string? module, string? branch, RunStore runs, TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunSummary> recent = await runs.ListRecentAsync(module, branch, 100, cancellationToken);
        return PageResult.Render<RunsPage>(new { Module = module, Branch = branch, Runs = recent, Now = time.GetUtcNow() });
    }

    private static async Task<IResult> RunAsync(long id, RunStore runs, ReportStore reports, BisectStore bisects, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await runs.GetDetailAsync(id, cancellationToken) is not { } detail)
        {
            return PageResult.Render<NotFoundPage>(new { What = "Run", Id = id }, StatusCodes.Status404NotFound);
        }

        return PageResult.Render<RunPage>(new
        {
            detail.Run,
            detail.Jobs,
            Reports = await reports.ListForRunAsync(detail.Run.Id, cancellationToken),
            Bisect = detail.Run.Cause == RunCause.Bisect ? await bisects.ForRunAsync(id, cancellationToken) : null,
            RedJobBisects = detail.Run.Cause == RunCause.Bisect ? [] : await bisects.OfRedJobsAsync(detail.Jobs.Select(j => j.Id).ToList(), cancellationToken),
            RefreshSeconds,
            Now = time.GetUtcNow(),
        });
    }

    private static async Task<IResult> JobAsync(long id, JobStore jobs, RunStore runs, JobLogs logs, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await jobs.GetDetailAsync(id, cancellationToken) is not { } detail)
        {
            return PageResult.Render<NotFoundPage>(new { What = "Job", Id = id }, StatusCodes.Status404NotFound);
        }

        JobLogTail? tail = await logs.ReadTailAsync(id, LogTailBytes, wholeLinesOnly: detail.Job.State != JobState.Finished, cancellationToken);
        return PageResult.Render<JobPage>(new
        {
            Detail = detail,
            Run = await runs.GetAsync(detail.Job.RunId, cancellationToken),
            Lockfile = await jobs.GetLockfileAsync(id, cancellationToken),
            Replay = await ApiEndpoints.ReplayOfAsync(detail.Job, jobs, cancellationToken),
            LogTail = tail,
            LogExpired = tail is null ? await logs.ExpiredAsync(id, cancellationToken) : null,
            RefreshSeconds,
            Now = time.GetUtcNow(),
        });
    }

    /// <summary>The job page's Replay button: queues the replay and shows its job, or says in one line why not.</summary>
    private static async Task<IResult> ReplayAsync(long id, HttpContext http, CiRunnerSettings settings, ReplayTrigger replays, CancellationToken cancellationToken)
    {
        if (!BrowserLogin.HasValidCookie(http, settings.Http) && ApiAccess.Authorize(http, settings.Http) is not null)
        {
            return Microsoft.AspNetCore.Http.Results.Redirect($"/login?returnUrl={Uri.EscapeDataString($"/jobs/{id}")}");
        }

        ReplayOutcome outcome = await replays.StartAsync(id, "web", cancellationToken);
        return outcome.Run is { } run
            ? Microsoft.AspNetCore.Http.Results.Redirect($"/jobs/{run.Jobs[0].Id}")
            : Microsoft.AspNetCore.Http.Results.Text(outcome.Message, "text/plain; charset=utf-8", statusCode: outcome.Refusal == ReplayRefusal.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict);
    }

    private static async Task<IResult> QueueAsync(JobQueue queue, JobStore jobs, RunStore runs, InstanceStore instances, EnginePool engine, JobDispatcher dispatcher, PhaseSnapshotOrdering ordering, [Microsoft.AspNetCore.Mvc.FromServices] IEnumerable<IJobStartGate> gates, TimeProvider time, CancellationToken cancellationToken)
    {
        string? waiting = QueueView.Waiting(engine, dispatcher, gates);
        IReadOnlyList<QueueEntryBody> entries = await QueueView.ListAsync(queue, jobs, runs, waiting, cancellationToken, ordering);
        return PageResult.Render<QueuePage>(new
        {
            Waiting = waiting,
            Running = await jobs.ListByStateAsync(JobState.Running, cancellationToken),
            Entries = entries,
            QueueCount = queue.Count,
            Instances = await instances.ListAsync(cancellationToken),
            Now = time.GetUtcNow(),
        });
    }

    private static async Task<IResult> HealthAsync(CiHealthStore health, EngineReport engines, TimeProvider time, CancellationToken cancellationToken) =>
        PageResult.Render<HealthPage>(new
        {
            Health = await health.ReadAsync(CiHealthStore.DefaultDays, cancellationToken),
            Engines = engines.Now(),
            Now = time.GetUtcNow(),
        });

    private static async Task<IResult> ModulesAsync(CiRunnerSettings settings, PollStatusStore pollStatus, PollStateStore pollState, TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyList<ModulePollStatus> statuses = await pollStatus.ListAsync(cancellationToken);
        return PageResult.Render<ModulesPage>(new
        {
            settings.Modules,
            Statuses = statuses.ToDictionary(s => s.Module, StringComparer.Ordinal),
            Heads = await pollState.ListAsync(null, cancellationToken),
            Now = time.GetUtcNow(),
        });
    }
}
