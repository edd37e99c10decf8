using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>
/// The start-up check that tells a host that cannot boot systemd in a container at <c>validate</c> and <c>serve</c>,
/// before any job hangs in its boot: real containers on the real engine.
/// </summary>
[Collection(DockerSystemdGroup.Name)]
[Trait("Category", "Docker")]
public sealed class SystemdHostProbeTests : ExecutorTestBase
{
    public SystemdHostProbeTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Fact]
    public async Task ProbeAsync_BaseImage_SaysSystemdBootsAndLeavesNoContainer()
    {
        var probe = new SystemdHostProbe(Engine.Docker, TimeProvider.System, Instance);

        SystemdProbeResult? result = await probe.ProbeAsync(["cirunner-test/does-not-exist:1", Engine.PuppetImage], TimeSpan.FromSeconds(60), CancellationToken.None);

        // The first image the engine has is booted, and systemd answers
        Assert.NotNull(result);
        Assert.True(result.Works, result.Describe());
        Assert.Equal(Engine.PuppetImage, result.Image);
        Assert.StartsWith("systemd: running after ", result.Detail, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ProbeAsync_NoCandidateImage_CannotTellYet()
    {
        var probe = new SystemdHostProbe(Engine.Docker, TimeProvider.System, Instance);

        Assert.Null(await probe.ProbeAsync(["cirunner-test/does-not-exist:1"], TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Fact]
    public async Task ProbeAsync_SystemdNeverComesUp_SaysWhyWithTheHostRequirements()
    {
        // Given an image whose boot does not finish within the probe's bound
        string image = await SystemdJobTests.SlowBootImageAsync(Engine, Folder, Output);
        var probe = new SystemdHostProbe(Engine.Docker, TimeProvider.System, Instance);

        SystemdProbeResult? result = await probe.ProbeAsync([image], TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.NotNull(result);
        Assert.False(result.Works);
        Assert.Contains("did not come up within 5 s", result.Detail, StringComparison.Ordinal);
        Assert.Contains("systemd: starting", result.Detail, StringComparison.Ordinal);
        Assert.Contains("cgroup v1 host needs the name=systemd hierarchy", result.Describe(), StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_HostKnownNotToBootSystemd_EndsTheJobAtOnceNamingTheRequirement()
    {
        // Given the start-up check found that this engine cannot boot systemd
        var failed = new KnownStatus(new SystemdProbeResult(false, "cirunner/base:bookworm", "it did not come up within 120 s; systemd: offline"));
        var executor = TestExecutors.Create(Engine.Docker, new TestOutputLogger<DockerJobExecutor>(Output), systemd: failed);
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase("deploy", null, [], [], TestJobs.Command("after boot", "true")))
            with { Init = InitSystem.Systemd };

        // When a job that boots systemd runs
        JobOutcome outcome = await executor.ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is an error at once, without a container
        Assert.Equal(JobResult.Error, outcome.Result);
        Assert.Contains("this engine cannot boot systemd in an unprivileged container", outcome.Summary, StringComparison.Ordinal);
        Assert.Null(outcome.ContainerId);
        Assert.Empty(await Engine.ContainersOfInstanceAsync(Instance));
    }

    private sealed class KnownStatus(SystemdProbeResult last) : ISystemdHostStatus
    {
        public SystemdProbeResult? Last { get; } = last;
    }
}
