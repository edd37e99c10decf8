using CiRunner.Configuration;
using CiRunner.Matrix;

namespace CiRunner.Execution;

/// <summary>What is known about booting systemd on the engine; read by the executor, <c>/healthz</c> and logs.</summary>
public interface ISystemdHostStatus
{
    /// <summary>The last probe's result; null while nothing is known (no probe yet, or no image with systemd to boot).</summary>
    SystemdProbeResult? Last { get; }
}

/// <summary>
/// At the service's start, when a release or scenario boots systemd, boots it once in a throwaway container on one engine
/// (<see cref="SystemdHostProbe"/>) and logs the answer: a host that cannot do it is told at once, and jobs that need it
/// end as errors on that engine without waiting out their boot timeout. Probes again while it cannot tell (the engine is
/// away, or no image with systemd exists yet). Each engine of a pool has its own: hosts differ (cgroup v1 without the
/// systemd hierarchy, an old engine on cgroup v2), and one engine's answer says nothing of another's.
/// </summary>
public sealed partial class SystemdHostCheck : ISystemdHostStatus
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(2);

    private readonly SystemdHostProbe _probe;
    private readonly CiRunnerSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<SystemdHostCheck> _logger;
    private volatile SystemdProbeResult? _last;

    /// <param name="engine">The engine's name in the pool (<c>default</c> for the one engine of <c>Docker:Endpoint</c>), for logs and <c>/healthz</c>.</param>
    /// <param name="probe">Boots systemd on that engine.</param>
    /// <param name="settings">The releases and scenarios that tell whether anything boots systemd, and the boot timeout.</param>
    /// <param name="timeProvider">Paces the probes again while nothing is known.</param>
    /// <param name="logger">Where the answer goes.</param>
    public SystemdHostCheck(string engine, SystemdHostProbe probe, CiRunnerSettings settings, TimeProvider timeProvider, ILogger<SystemdHostCheck> logger)
    {
        Engine = engine;
        _probe = probe;
        _settings = settings;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The engine it checks.</summary>
    public string Engine { get; }

    public SystemdProbeResult? Last => _last;

    /// <summary>
    /// The images a probe may boot: the base images of releases that boot systemd (they boot in a second or two), then
    /// the release images themselves (which also start their services at boot).
    /// </summary>
    public static IReadOnlyList<string> CandidateImages(CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        List<Release> booting = settings.Releases
            .Where(r => r.Init == InitSystem.Systemd || settings.Scenarios.Any(s => s.Init == InitSystem.Systemd && s.AppliesTo(r.Name)))
            .ToList();
        // Releases share base images (every bookworm release has the same one): each image is named, and tried, once.
        return [.. booting.Select(r => BaseImageRecipe.ForSuite(r.Suite).Tag).Concat(booting.Select(r => r.Image)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Probes until it knows, or <paramref name="stoppingToken"/> ends; returns at once when nothing boots systemd.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        IReadOnlyList<string> images = CandidateImages(_settings);
        if (images.Count == 0)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                SystemdProbeResult? result = await _probe.ProbeAsync(images, _settings.Docker.BootTimeout, stoppingToken);
                if (result is not null)
                {
                    _last = result;
                    string described = result.Describe();
                    if (result.Works)
                    {
                        LogWorks(_logger, Engine, described);
                    }
                    else
                    {
                        LogFails(_logger, Engine, described);
                    }

                    return;
                }

                LogNoImage(_logger, Engine, images);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // Background loops catch per iteration: the engine may be away for now.
                LogProbeFailed(_logger, Engine, ex.Message);
            }

            await Task.Delay(RetryInterval, _timeProvider, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Checked Docker engine {Engine} at start: {Result}")]
    private static partial void LogWorks(ILogger logger, string engine, string result);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checked Docker engine {Engine} at start: {Result}")]
    private static partial void LogFails(ILogger logger, string engine, string result);

    [LoggerMessage(Level = LogLevel.Information, Message = "Could not check yet whether Docker engine {Engine} boots systemd in a container: none of {Images} exists there yet (the first build makes one); trying again later")]
    private static partial void LogNoImage(ILogger logger, string engine, IReadOnlyList<string> images);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check whether Docker engine {Engine} boots systemd in a container: {Error}; trying again later")]
    private static partial void LogProbeFailed(ILogger logger, string engine, string error);
}

/// <summary>Runs every engine's <see cref="SystemdHostCheck"/> side by side from the service's start.</summary>
public sealed class SystemdHostChecks : BackgroundService
{
    private readonly EnginePool _pool;

    public SystemdHostChecks(EnginePool pool) => _pool = pool;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_pool.Engines.Select(e => e.Systemd).OfType<SystemdHostCheck>().Select(check => check.RunAsync(stoppingToken)));
}
