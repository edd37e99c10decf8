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
/// At the service's start, when a release or scenario boots systemd, boots it once in a throwaway container
/// (<see cref="SystemdHostProbe"/>) and logs the answer: a host that cannot do it is told at once, and jobs that need it
/// end as errors without waiting out their boot timeout. Probes again while it cannot tell (the engine is away, or no
/// image with systemd exists yet).
/// </summary>
public sealed partial class SystemdHostCheck : BackgroundService, ISystemdHostStatus
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(2);

    private readonly SystemdHostProbe _probe;
    private readonly CiRunnerSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<SystemdHostCheck> _logger;
    private volatile SystemdProbeResult? _last;

    public SystemdHostCheck(SystemdHostProbe probe, CiRunnerSettings settings, TimeProvider timeProvider, ILogger<SystemdHostCheck> logger)
    {
        _probe = probe;
        _settings = settings;
        _timeProvider = timeProvider;
        _logger = logger;
    }

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
        return [.. booting.Select(r => BaseImageRecipe.ForSuite(r.Suite).Tag), .. booting.Select(r => r.Image)];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
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
                        LogWorks(_logger, described);
                    }
                    else
                    {
                        LogFails(_logger, described);
                    }

                    return;
                }

                LogNoImage(_logger, images);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // Background loops catch per iteration: the engine may be away for now.
                LogProbeFailed(_logger, ex.Message);
            }

            await Task.Delay(RetryInterval, _timeProvider, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Checked at start: {Result}")]
    private static partial void LogWorks(ILogger logger, string result);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checked at start: {Result}")]
    private static partial void LogFails(ILogger logger, string result);

    [LoggerMessage(Level = LogLevel.Information, Message = "Could not check yet whether this engine boots systemd in a container: none of {Images} exists yet (the first build makes one); trying again later")]
    private static partial void LogNoImage(ILogger logger, IReadOnlyList<string> images);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check whether this engine boots systemd in a container: {Error}; trying again later")]
    private static partial void LogProbeFailed(ILogger logger, string error);
}
