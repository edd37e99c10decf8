using CiRunner.Results;
using CiRunner.Telemetry;

namespace CiRunner.Execution;

/// <summary>
/// The pool's engines as this instance's check-ins record them and its metrics show them: each one's name, endpoint,
/// capacity and running jobs from <see cref="EnginePool"/>, whether it answers, its last error and how many, from its
/// <see cref="DockerEngineMonitor"/>.
/// </summary>
public sealed class EngineReport : IEngineReport
{
    private readonly EnginePool _pool;

    public EngineReport(EnginePool pool, CiRunnerTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        _pool = pool;
        telemetry.ObserveEngines(Now);
    }

    public IReadOnlyList<InstanceEngine> Now() => [.. _pool.Engines.Select(Of)];

    private static InstanceEngine Of(JobEngine engine)
    {
        EngineOutage? lastError = engine.Monitor.LastError;
        return new InstanceEngine(engine.Endpoint, engine.Capacity)
        {
            Name = engine.Name,
            Running = engine.Running,
            Up = !engine.IsDown,
            LastError = lastError?.Error,
            LastErrorAt = lastError?.Since,
            Errors = engine.Monitor.Errors,
        };
    }
}
