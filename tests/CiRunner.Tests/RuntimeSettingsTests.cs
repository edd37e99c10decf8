using System.Text.Json;

namespace CiRunner.Tests;

/// <summary>
/// The runtime settings <c>cirunner</c> ships with (its <c>cirunner.runtimeconfig.json</c>, built beside the tests), which
/// keep the idle service small and flat (bench/idle.sh measures the effect; this guards the settings themselves).
/// </summary>
public sealed class RuntimeSettingsTests
{
    private static JsonElement ConfigProperties()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "cirunner.runtimeconfig.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }

    [Fact]
    public void Gen0Budget_BoundedWhateverTheCpuCache()
    {
        // Unbounded, the GC sizes gen0 from the last-level cache (about 130 MiB on a 260 MiB L3): the idle service then
        // went ten minutes without a collection and grew by all it allocated.
        long budget = ConfigProperties().GetProperty("System.GC.Gen0MaxBudget").GetInt64();

        Assert.InRange(budget, 1L << 20, 4L << 20);
    }

    [Fact]
    public void GarbageCollector_WorkstationAndNotConcurrent()
    {
        JsonElement properties = ConfigProperties();

        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.False(properties.GetProperty("System.GC.Concurrent").GetBoolean());
    }
}
