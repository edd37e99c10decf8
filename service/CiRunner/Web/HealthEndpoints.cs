using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using Quartz;

namespace CiRunner.Web;

/// <summary><c>/healthz</c>: whether the service can reach what it depends on. Always open, for probes.</summary>
internal static class HealthEndpoints
{
    /// <summary>
    /// Answers <c>GET /healthz</c> ahead of routing, as <c>/metrics</c> is: a service that only probes and a scraper
    /// ask never builds the request delegates of every page and API endpoint.
    /// </summary>
    public static IApplicationBuilder UseHealth(this IApplicationBuilder app) =>
        app.MapWhen(
            context => HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Equals("/healthz", StringComparison.OrdinalIgnoreCase),
            branch => branch.Run(AnswerAsync));

    private static async Task AnswerAsync(HttpContext context)
    {
        IServiceProvider services = context.RequestServices;
        ResultsDatabase database = services.GetRequiredService<ResultsDatabase>();
        SchedulerStart schedulerStart = services.GetRequiredService<SchedulerStart>();
        JobDispatcher dispatcher = services.GetRequiredService<JobDispatcher>();
        IEnumerable<IJobStartGate> gates = services.GetServices<IJobStartGate>();
        ScenarioCatalog scenarios = services.GetRequiredService<ScenarioCatalog>();
        EnginePool pool = services.GetRequiredService<EnginePool>();
        CancellationToken cancellationToken = context.RequestAborted;

        bool healthy = true;
        string databaseStatus;
        try
        {
            int version = await database.ReadSchemaVersionAsync(cancellationToken);
            databaseStatus = $"ok (schema {version})";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            healthy = false;
            databaseStatus = $"error: {e.Message}";
        }

        (string dockerStatus, bool enginesAnswer) = await DockerStatusAsync(pool, cancellationToken);
        healthy &= enginesAnswer;

        string schedulerStatus;
        try
        {
            SchedulerStatus status = schedulerStart.Scheduler is { } scheduler ? await scheduler.GetStatus(cancellationToken) : SchedulerStatus.Created;
            schedulerStatus = schedulerStart.StartsAt is { } startsAt ? $"ok (starts at {startsAt:u}, before its first trigger is due)" : status switch
            {
                SchedulerStatus.Running => "ok",
                SchedulerStatus.Created or SchedulerStatus.Standby => "starting",
                _ => $"error: {status.ToString().ToLowerInvariant()}",
            };
            healthy &= status is SchedulerStatus.Running or SchedulerStatus.Created or SchedulerStatus.Standby;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            healthy = false;
            schedulerStatus = $"error: {e.Message}";
        }

        string dispatcherStatus = !dispatcher.Recovered.IsCompleted ? "starting (recovering earlier jobs)"
            : dispatcher.IsDraining ? $"stopping: no new jobs start, {dispatcher.RunningCount} running jobs have the drain time to finish"
            : dispatcher.IsDispatching ? "ok"
            : "error: stopped";
        healthy &= dispatcher.IsDispatching && !dispatcher.IsDraining || !dispatcher.Recovered.IsCompleted;

        var body = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["status"] = healthy ? "ok" : "degraded",
            ["database"] = databaseStatus,
            ["docker"] = dockerStatus,
            ["scheduler"] = schedulerStatus,
            ["dispatcher"] = dispatcherStatus,
        };

        // A closed start gate (a nearly full disk) holds every job: the service is up, but not doing its work.
        foreach (JobStartGateStatus gate in gates.Select(g => g.Check()))
        {
            body[gate.Name] = gate.Open ? $"ok ({gate.Detail})" : $"held: {gate.Detail}";
            healthy &= gate.Open;
        }

        // Known once an engine's start-up probe could boot an image with systemd; an engine that cannot is not doing its work.
        if (SystemdStatus(pool) is { } systemd)
        {
            body["systemd"] = systemd.Text;
            healthy &= systemd.Works;
        }

        // Broken scenario files are a warning, not a failure: the service keeps running their last good definitions.
        ScenarioCatalogState catalog = scenarios.Refresh();
        body["scenarios"] = ScenarioEndpoints.Warning(catalog) is { } warning
            ? $"warning: {warning} (see /scenarios)"
            : $"ok ({catalog.Scenarios.Count} scenarios)";

        body["status"] = healthy ? "ok" : "degraded";
        await Microsoft.AspNetCore.Http.Results.Json(body, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
    }

    /// <summary>
    /// Each engine of the pool pinged now, side by side, through its monitor (uncached, within its ping timeout, so a
    /// hung engine does not hold the answer; no Docker.DotNet where the endpoint is plain):
    /// "ok" or "error: ..." for a single engine; in a pool each engine that does not answer is named, and one is enough
    /// to degrade the service, as its jobs (or those of releases only it takes) wait for it.
    /// </summary>
    private static async Task<(string Text, bool Works)> DockerStatusAsync(EnginePool pool, CancellationToken cancellationToken)
    {
        string?[] errors = await Task.WhenAll(pool.Engines.Select(e => e.Monitor.AskNowAsync(cancellationToken)));
        if (pool.Engines.Count == 1)
        {
            return errors[0] is { } error ? ($"error: {error}", false) : ("ok", true);
        }

        List<string> failed = [.. pool.Engines.Zip(errors).Where(e => e.Second is not null).Select(e => $"engine {e.First.Name}: {e.Second}")];
        return failed.Count == 0
            ? ($"ok (engines {string.Join(", ", pool.Engines.Select(e => e.Name))})", true)
            : ($"error: {string.Join("; ", failed)}", false);
    }

    /// <summary>What the engines' start-up checks found: null while none knows yet; each engine named in a pool.</summary>
    private static (string Text, bool Works)? SystemdStatus(EnginePool pool)
    {
        List<(string Engine, SystemdProbeResult Probe)> known = [.. pool.Engines
            .Select(e => (e.Name, Probe: e.Systemd?.Last))
            .Where(k => k.Probe is not null)
            .Select(k => (k.Name, k.Probe!))];
        if (known.Count == 0)
        {
            return null;
        }

        if (pool.Engines.Count == 1)
        {
            SystemdProbeResult probe = known[0].Probe;
            return (probe.Works ? $"ok ({probe.Detail})" : $"error: {probe.Describe()}", probe.Works);
        }

        List<(string Engine, SystemdProbeResult Probe)> failed = [.. known.Where(k => !k.Probe.Works)];
        return failed.Count == 0
            ? ($"ok ({string.Join("; ", known.Select(k => $"engine {k.Engine}: {k.Probe.Detail}"))})", true)
            : ($"error: {string.Join("; ", failed.Select(k => $"engine {k.Engine}: {k.Probe.Describe()}"))}", false);
    }
}
