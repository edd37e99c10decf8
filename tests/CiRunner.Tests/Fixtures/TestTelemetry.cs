using System.Diagnostics.Metrics;
using CiRunner.Telemetry;

namespace CiRunner.Tests.Fixtures;

/// <summary>Telemetry as the service has it, on a meter of the test's own so no other test reads its measurements.</summary>
public static class TestTelemetry
{
    public static CiRunnerTelemetry Private() => new(new Meter($"cirunner.tests.{Guid.NewGuid():N}"));
}
