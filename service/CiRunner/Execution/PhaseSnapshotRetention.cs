using CiRunner.Configuration;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// Retention of phase snapshots, run with the store's (<c>Retention</c>): on every engine of the pool, this instance's
/// snapshots that no job made or started from within <c>Retention:MaxAge</c> are removed, as the jobs that made them
/// lose their details. An engine that does not answer keeps its snapshots until the next time.
/// </summary>
public sealed partial class PhaseSnapshotRetention
{
    private readonly EnginePool _pool;
    private readonly ServiceOptions _service;
    private readonly ILogger<PhaseSnapshotRetention> _logger;

    public PhaseSnapshotRetention(EnginePool pool, IOptions<ServiceOptions> service, ILogger<PhaseSnapshotRetention> logger)
    {
        _pool = pool;
        _service = service.Value;
        _logger = logger;
    }

    /// <summary>Removes the snapshots last used before <paramref name="cutoff"/>; how many went.</summary>
    public async Task<int> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        int removed = 0;
        foreach (JobEngine engine in _pool.Engines)
        {
            try
            {
                removed += (await new PhaseSnapshotImages(engine.Client).RemoveUnusedSinceAsync(_service.InstanceId, cutoff, cancellationToken)).Count;
            }
            catch (Exception raw) when (EngineTransport.Unwrap(raw) is var e && e is Docker.DotNet.DockerApiException or HttpRequestException or IOException or TimeoutException)
            {
                LogEngineSkipped(engine.Name, e.Message);
            }
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention: the phase snapshots on engine {Engine} stay until the next time: {Error}")]
    private partial void LogEngineSkipped(string engine, string error);
}
