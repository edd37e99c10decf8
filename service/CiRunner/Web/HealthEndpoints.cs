using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using Docker.DotNet;
using CiRunner.Scheduling;
using Quartz;

namespace CiRunner.Web;

/// <summary><c>/healthz</c>: whether the service can reach what it depends on. Always open, for probes.</summary>
internal static class HealthEndpoints
{
    /// <summary>A probe must answer quickly even when the engine hangs.</summary>
    private static readonly TimeSpan DockerPingTimeout = TimeSpan.FromSeconds(5);

    public static void MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", async (ResultsDatabase database, IDockerClient docker, SchedulerStart schedulerStart, JobDispatcher dispatcher, [Microsoft.AspNetCore.Mvc.FromServices] IEnumerable<IJobStartGate> gates, ScenarioCatalog scenarios, EnginePool pool, CancellationToken cancellationToken) =>
        {
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

            string dockerStatus;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(DockerPingTimeout);
                await docker.System.PingAsync(timeout.Token);
                dockerStatus = "ok";
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                healthy = false;
                dockerStatus = e is OperationCanceledException ? $"error: no answer to a ping within {DockerPingTimeout.TotalSeconds:F0} s" : $"error: {e.Message}";
            }

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
            return Microsoft.AspNetCore.Http.Results.Json(body, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
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
