using CiRunner.Scheduling;

namespace CiRunner.Tests.Scheduling;

public sealed class ScheduleSynchronizerTests
{
    [Fact]
    public void FirstPollOffset_IsWithinTheJitter_StablePerModule_AndSpreadsModules()
    {
        TimeSpan jitter = TimeSpan.FromSeconds(30);
        string[] modules = ["keystone", "glance", "nova", "neutron", "placement", "openstacklib", "oslo"];

        TimeSpan[] offsets = modules.Select(m => ScheduleSynchronizer.FirstPollOffset(m, jitter)).ToArray();

        Assert.All(offsets, o => Assert.InRange(o, TimeSpan.Zero, jitter));
        Assert.Equal(offsets, modules.Select(m => ScheduleSynchronizer.FirstPollOffset(m, jitter)));
        Assert.True(offsets.Select(o => (int)o.TotalSeconds).Distinct().Count() >= 5, string.Join(", ", offsets));
        Assert.Equal(TimeSpan.Zero, ScheduleSynchronizer.FirstPollOffset("keystone", TimeSpan.Zero));
    }
}
