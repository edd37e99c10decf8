using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;

namespace CiRunner.Web;

/// <summary>The answer to <c>GET /api/runs/{id}</c>: the run, its jobs (every attempt) and where each of its reports stands.</summary>
public sealed record RunDetailBody(RunRecord Run, IReadOnlyList<JobRecord> Jobs, IReadOnlyList<RunReportRecord> Reports)
{
    /// <summary>A bisect's run: its bisect. Any other run: the bisects its red jobs started.</summary>
    public IReadOnlyList<Reporting.BisectBody> Bisects { get; init; } = [];
}

/// <summary>One waiting job in <c>GET /api/queue</c>, in dequeue order.</summary>
/// <param name="Position">1 for the job that starts next.</param>
/// <param name="RunId">Its run.</param>
/// <param name="JobId">The job.</param>
/// <param name="Priority">Its queue priority (manual before patch set before branch commit before nightly).</param>
/// <param name="Module">The run's module; null when the run is gone.</param>
/// <param name="Branch">The run's branch.</param>
/// <param name="CellKey">The job's cell.</param>
/// <param name="QueuedAt">When it was queued.</param>
/// <param name="Waiting">
/// Why no queued job starts even when a slot is free, or null: "waiting for the Docker engine ..." while the engine
/// does not answer, "held: ..." while a start gate (a nearly full disk) holds them, or that the service is stopping
/// (queued jobs then run after the next start).
/// </param>
public sealed record QueueEntryBody(int Position, long RunId, long JobId, JobPriority Priority, string? Module, string? Branch, string? CellKey, DateTimeOffset? QueuedAt, string? Waiting = null);

/// <summary>
/// The answer to <c>GET /api/health</c>: the CI health figures of the last <see cref="CiHealthStore.DefaultDays"/>
/// days (rates as fractions, times in seconds; each figure its value and one point per UTC day, oldest first), and
/// this instance's engines now.
/// </summary>
public sealed record CiHealthBody(
    DateTimeOffset From,
    DateTimeOffset Until,
    HealthJobCounts Jobs,
    HealthFigure PassRate,
    HealthFigure FlakyRate,
    HealthFigure InfrastructureErrorRate,
    HealthFigure QueueWaitP50Seconds,
    HealthFigure QueueWaitP95Seconds,
    IReadOnlyList<ScenarioDurations> DurationByScenario,
    IReadOnlyList<ReportTally> Reports,
    IReadOnlyList<ReportProblem> ReportProblems,
    HealthFigure PollsFailing,
    IReadOnlyList<PollFailure> FailingPolls,
    IReadOnlyList<InstanceEngine> Engines,
    bool Truncated)
{
    public static CiHealthBody Of(CiHealth health, IReadOnlyList<InstanceEngine> engines)
    {
        ArgumentNullException.ThrowIfNull(health);
        return new(
            health.From,
            health.Until,
            health.Jobs,
            health.PassRate,
            health.FlakyRate,
            health.InfrastructureErrorRate,
            health.QueueWaitP50Seconds,
            health.QueueWaitP95Seconds,
            health.DurationByScenario,
            health.Reports,
            health.ReportProblems,
            health.PollsFailing,
            health.FailingPolls,
            engines,
            health.Truncated);
    }
}

/// <summary>
/// The answer to <c>GET /api/flakes</c>: the flake ledger over each cell's last <paramref name="Window"/> runs, most
/// flaky first, with the settings it was read with.
/// </summary>
public sealed record FlakeLedgerBody(int Window, double VoteThreshold, IReadOnlyList<FlakeEntryBody> Entries)
{
    public static FlakeLedgerBody Of(IReadOnlyList<FlakeLedgerEntry> entries, FlakeOptions options)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(options);
        return new FlakeLedgerBody(options.Window, options.VoteThreshold, entries.Select(e => new FlakeEntryBody(
            e.Module, e.Branch, e.CellKey, e.Signature, e.Runs, e.Flaky, e.Failed, e.FlakeRate, e.IsKnownFlaky(options.VoteThreshold), e.FirstSeen, e.LastSeen, e.LastJobId)).ToList());
    }
}

/// <summary>One cell and failure signature of the flake ledger.</summary>
/// <param name="Module">The module.</param>
/// <param name="Branch">Its branch.</param>
/// <param name="CellKey">The cell.</param>
/// <param name="Signature">The failing step and its first error line, normalised.</param>
/// <param name="Runs">The cell's runs in the window.</param>
/// <param name="Flaky">Of those, how many failed with the signature and then passed on the same lockfile.</param>
/// <param name="Failed">How many failed with it on every attempt.</param>
/// <param name="FlakeRate"><paramref name="Flaky"/> over <paramref name="Runs"/>.</param>
/// <param name="KnownFlaky">Above <c>Flakes:VoteThreshold</c>: a failure with this signature does not vote -1 on its own.</param>
/// <param name="FirstSeen">The window's first run with the signature.</param>
/// <param name="LastSeen">Its last.</param>
/// <param name="LastJobId">The job that ended last with it.</param>
public sealed record FlakeEntryBody(
    string Module,
    string Branch,
    string CellKey,
    string Signature,
    int Runs,
    int Flaky,
    int Failed,
    double FlakeRate,
    bool KnownFlaky,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    long LastJobId);

/// <summary>The answer to <c>POST /api/runs/{id}/cancel</c>.</summary>
public sealed record RunCancelledBody(long RunId, IReadOnlyList<long> CancelledQueuedJobs, IReadOnlyList<long> StoppingRunningJobs);

/// <summary>
/// The read API over runs, jobs, cells, the queue and the CI health figures (open unless <c>Http:ProtectReads</c>), the write actions
/// cancel and rerun (always the token), and job logs by job id.
/// </summary>
internal static class ApiEndpoints
{
    private const int DefaultRunLimit = 50;
    private const int MaxRunLimit = 500;

    public static void MapApi(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder reads = endpoints.MapGroup("/api").AddEndpointFilter(ApiAccess.RequireReadAccess);

        reads.MapGet("/runs", async (string? module, string? branch, int? limit, RunStore runs, CancellationToken cancellationToken) =>
            Microsoft.AspNetCore.Http.Results.Json(await runs.ListRecentAsync(module, branch, Math.Clamp(limit ?? DefaultRunLimit, 1, MaxRunLimit), cancellationToken)));

        reads.MapGet("/runs/{id:long}", async (long id, RunStore runs, ReportStore reports, BisectStore bisects, CiRunnerSettings settings, CancellationToken cancellationToken) =>
            await runs.GetDetailAsync(id, cancellationToken) is { } run
                ? Microsoft.AspNetCore.Http.Results.Json(new RunDetailBody(run.Run, run.Jobs, await reports.ListForRunAsync(id, cancellationToken))
                {
                    Bisects = await BisectsOfAsync(run, bisects, new Reporting.ReportLinks(settings.Http), cancellationToken),
                })
                : NotFound($"Run {id} does not exist."));

        reads.MapGet("/bisects", async (string? module, string? branch, int? limit, BisectStore bisects, CancellationToken cancellationToken) =>
            Microsoft.AspNetCore.Http.Results.Json(await bisects.ListAsync(module, branch, Math.Clamp(limit ?? DefaultRunLimit, 1, MaxRunLimit), cancellationToken)));

        reads.MapGet("/bisects/{id:long}", async (long id, BisectStore bisects, CiRunnerSettings settings, CancellationToken cancellationToken) =>
            await bisects.GetDetailAsync(id, cancellationToken) is { } bisect
                ? Microsoft.AspNetCore.Http.Results.Json(Reporting.BisectBody.From(bisect, new Reporting.ReportLinks(settings.Http)))
                : NotFound($"Bisect {id} does not exist; GET /api/bisects lists them."));

        reads.MapGet("/flakes", async (string? module, string? branch, bool? all, FlakeStore flakes, CiRunnerSettings settings, CancellationToken cancellationToken) =>
            Microsoft.AspNetCore.Http.Results.Json(FlakeLedgerBody.Of(
                await flakes.LedgerAsync(module, branch, settings.Flakes.Window, withFailures: all == true, cancellationToken), settings.Flakes)));

        reads.MapGet("/runs/{id:long}/junit.xml", async (long id, RunStore runs, DataPaths paths, CancellationToken cancellationToken) =>
        {
            string file = paths.JUnitFile(id);
            if (File.Exists(file))
            {
                return Microsoft.AspNetCore.Http.Results.File(file, "application/xml; charset=utf-8");
            }

            return await runs.GetAsync(id, cancellationToken) is { } run
                ? NotFound(run.FinishedAt is null
                    ? $"Run {id} has not finished; its JUnit XML is written when its last job ends."
                    : $"Run {id} has no JUnit XML (Reporting:JUnit was off when it finished, or the report is still pending: see GET /api/runs/{id}).")
                : NotFound($"Run {id} does not exist.");
        });

        reads.MapGet("/jobs/{id:long}", async (long id, JobStore jobs, CancellationToken cancellationToken) =>
            await jobs.GetDetailAsync(id, cancellationToken) is { } job
                ? Microsoft.AspNetCore.Http.Results.Json(job)
                : NotFound($"Job {id} does not exist."));

        reads.MapGet("/jobs/{id:long}/lockfile", async (long id, JobStore jobs, CancellationToken cancellationToken) =>
        {
            if (await jobs.GetAsync(id, cancellationToken) is not { } job)
            {
                return NotFound($"Job {id} does not exist.");
            }

            return await jobs.GetLockfileAsync(id, cancellationToken) is { } lockfile
                ? Microsoft.AspNetCore.Http.Results.Json(LockfileBody.From(id, lockfile, await ReplayOfAsync(job, jobs, cancellationToken)))
                : NotFound(JobSpecFactory.NoLockfile(id));
        });

        reads.MapGet("/cells", async (string? module, string? branch, CellResultStore cells, CancellationToken cancellationToken) =>
        {
            IReadOnlyList<CellResultRecord> all = module is not null && branch is not null
                ? await cells.ListAsync(module, branch, cancellationToken)
                : (await cells.ListAllAsync(cancellationToken)).Where(c => module is null || c.Module == module).Where(c => branch is null || c.Branch == branch).ToList();
            return Microsoft.AspNetCore.Http.Results.Json(all);
        });

        reads.MapGet("/queue", async (JobQueue queue, JobStore jobs, RunStore runs, EnginePool engine, JobDispatcher dispatcher, PhaseSnapshotOrdering ordering, [Microsoft.AspNetCore.Mvc.FromServices] IEnumerable<IJobStartGate> gates, CancellationToken cancellationToken) =>
            Microsoft.AspNetCore.Http.Results.Json(await QueueView.ListAsync(queue, jobs, runs, QueueView.Waiting(engine, dispatcher, gates), cancellationToken, ordering)));

        reads.MapGet("/health", async (CiHealthStore health, EngineReport engines, CancellationToken cancellationToken) =>
            Microsoft.AspNetCore.Http.Results.Json(CiHealthBody.Of(await health.ReadAsync(CiHealthStore.DefaultDays, cancellationToken), engines.Now())));

        reads.MapGet("/instances", async (InstanceStore instances, CancellationToken cancellationToken) =>
            Microsoft.AspNetCore.Http.Results.Json(await instances.ListAsync(cancellationToken)));

        reads.MapGet("/jobs/{id:long}/log", (long id, JobLogs logs, CancellationToken cancellationToken) => StreamLogAsync(id, logs, cancellationToken));
        endpoints.MapGet("/jobs/{id:long}/log", (long id, JobLogs logs, CancellationToken cancellationToken) => StreamLogAsync(id, logs, cancellationToken))
            .AddEndpointFilter(ApiAccess.RequirePageAccess);

        RouteGroupBuilder writes = endpoints.MapGroup("/api").AddEndpointFilter(ApiAccess.RequireWriteAccess).AddEndpointFilter(DatabaseLockedAnswer.Filter);

        writes.MapPost("/runs/{id:long}/cancel", async (long id, RunControl control, CancellationToken cancellationToken) =>
            await control.CancelRunAsync(id, "api", cancellationToken) is { } cancelled
                ? Microsoft.AspNetCore.Http.Results.Json(new RunCancelledBody(id, cancelled.Queued, cancelled.Running))
                : NotFound($"Run {id} does not exist."));

        writes.MapPost("/jobs/{id:long}/rerun", async (long id, RunControl control, CancellationToken cancellationToken) =>
            await control.RerunJobAsync(id, "api", cancellationToken) is { } run
                ? Microsoft.AspNetCore.Http.Results.Json(
                    new RunCreatedBody(run.Run.Id, run.Run.Module, run.Run.Branch, run.Run.CommitSha, run.Jobs.Count),
                    statusCode: StatusCodes.Status201Created)
                : NotFound($"Job {id} does not exist."));

        writes.MapPost("/jobs/{id:long}/replay", async (long id, ReplayTrigger replays, CancellationToken cancellationToken) =>
        {
            ReplayOutcome outcome = await replays.StartAsync(id, "api", cancellationToken);
            return outcome.Run is { } run
                ? Microsoft.AspNetCore.Http.Results.Json(new ReplayCreatedBody(run.Run.Id, run.Jobs[0].Id, id), statusCode: StatusCodes.Status201Created)
                : ApiAccess.Error(outcome.Refusal == ReplayRefusal.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict, outcome.Message!);
        });
    }

    /// <summary>A replay's comparison with the job it replayed; null for any other job.</summary>
    internal static async Task<ReplayComparison?> ReplayOfAsync(JobRecord job, JobStore jobs, CancellationToken cancellationToken) =>
        job.ReplayOf is { } originalId ? ReplayComparison.Of(job, await jobs.GetAsync(originalId, cancellationToken)) : null;

    /// <summary>Streams the log as it is now (a running job's log grows; the page reloads to follow it).</summary>
    /// <summary>A bisect's run: its bisect; any other run: the bisects of its red jobs, with their steps.</summary>
    private static async Task<IReadOnlyList<Reporting.BisectBody>> BisectsOfAsync(RunDetail run, BisectStore bisects, Reporting.ReportLinks links, CancellationToken cancellationToken)
    {
        if (run.Run.Cause == RunCause.Bisect)
        {
            return await bisects.ForRunAsync(run.Run.Id, cancellationToken) is { } own ? [Reporting.BisectBody.From(own, links)] : [];
        }

        var bodies = new List<Reporting.BisectBody>();
        foreach (BisectRecord bisect in await bisects.OfRedJobsAsync(run.Jobs.Select(j => j.Id).ToList(), cancellationToken))
        {
            if (await bisects.GetDetailAsync(bisect.Id, cancellationToken) is { } detail)
            {
                bodies.Add(Reporting.BisectBody.From(detail, links));
            }
        }

        return bodies;
    }

    private static async Task<IResult> StreamLogAsync(long id, JobLogs logs, CancellationToken cancellationToken)
    {
        FileStream? stream = await logs.OpenAsync(id, cancellationToken);
        if (stream is not null)
        {
            return Microsoft.AspNetCore.Http.Results.Stream(stream, "text/plain; charset=utf-8");
        }

        // 410 Gone: the log existed and retention removed it on purpose, unlike a job that never had one.
        return await logs.ExpiredAsync(id, cancellationToken) is { } expired
            ? ApiAccess.Error(StatusCodes.Status410Gone, expired)
            : NotFound($"Job {id} has no log (it does not exist or has not started).");
    }

    private static IResult NotFound(string message) => ApiAccess.Error(StatusCodes.Status404NotFound, message);
}

/// <summary>The in-process queue joined with the store, for the API and the dashboard.</summary>
internal static class QueueView
{
    /// <summary>More than this many queued jobs are summarised: each entry costs two store reads.</summary>
    private const int MaxEntries = 200;

    /// <summary>Why queued jobs do not start (every reason, joined), or null when they start as slots free up.</summary>
    public static string? Waiting(EnginePool engines, JobDispatcher dispatcher, IEnumerable<IJobStartGate> gates)
    {
        var reasons = new List<string>();
        if (dispatcher.IsDraining)
        {
            reasons.Add("waiting for the next start: the service is stopping");
        }

        if (engines.Outage is { } outage)
        {
            string which = engines.Engines.Count == 1 ? "the Docker engine" : $"a Docker engine: none of the {engines.Engines.Count} answers";
            reasons.Add($"waiting for {which}: no answer since {outage.Since.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC ({outage.Error})");
        }

        reasons.AddRange(gates.Select(g => g.Check()).Where(s => !s.Open).Select(s => $"held: {s.Detail}"));
        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    public static async Task<IReadOnlyList<QueueEntryBody>> ListAsync(
        JobQueue queue, JobStore jobs, RunStore runs, string? waiting, CancellationToken cancellationToken, PhaseSnapshotOrdering? ordering = null)
    {
        var entries = new List<QueueEntryBody>();
        var runCache = new Dictionary<long, RunRecord?>();
        int position = 0;
        foreach (QueuedJob queued in queue.Snapshot().Take(MaxEntries))
        {
            position++;
            JobRecord? job = await jobs.GetAsync(queued.JobId, cancellationToken);
            if (!runCache.TryGetValue(queued.RunId, out RunRecord? run))
            {
                run = await runs.GetAsync(queued.RunId, cancellationToken);
                runCache[queued.RunId] = run;
            }

            // A job held for a phase snapshot says for which job, whatever holds the whole queue.
            string? reason = waiting ?? (ordering?.WaitsFor(queued) is { } holder
                ? $"waiting for job {holder} of this run, which saves a phase this job then starts after (Snapshots)"
                : null);
            entries.Add(new QueueEntryBody(position, queued.RunId, queued.JobId, queued.Priority, run?.Module, run?.Branch, job?.CellKey, job?.QueuedAt, reason));
        }

        return entries;
    }
}
