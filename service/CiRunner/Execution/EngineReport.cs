using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Telemetry;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// This instance's engine as its check-ins record it and its metrics show it: the endpoint and capacity from
/// <c>Docker</c>, whether it answers, its last error and how many, from <see cref="DockerEngineMonitor"/>.
/// </summary>
public sealed class EngineReport : IEngineReport
{
    private readonly DockerEngineMonitor _monitor;
    private readonly RunningJobs _running;
    private readonly DockerOptions _docker;

    public EngineReport(DockerEngineMonitor monitor, RunningJobs running, IOptions<DockerOptions> docker, CiRunnerTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        _monitor = monitor;
        _running = running;
        _docker = docker.Value;
        telemetry.ObserveEngine(_docker.Endpoint, _docker.ParallelJobs, () => _running.Count, () => _monitor.Outage is null, () => _monitor.Errors);
    }

    public InstanceEngine Now()
    {
        EngineOutage? lastError = _monitor.LastError;
        return new InstanceEngine(_docker.Endpoint, _docker.ParallelJobs)
        {
            Up = _monitor.Outage is null,
            LastError = lastError?.Error,
            LastErrorAt = lastError?.Since,
            Errors = _monitor.Errors,
        };
    }
}
