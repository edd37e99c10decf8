using System.Globalization;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Faults;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Execution;

/// <summary>
/// What a job container is allowed, read back from the engine (inspect, while the job runs) and from inside
/// (<c>/proc/self/status</c>), with a Puppet run that still manages files, users and commands as another user.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerResilienceGroup.Name)]
public sealed class ContainerSecurityTests : ExecutorTestBase
{
    private const string Manifest = """
        user { 'cirunner-test': ensure => present, managehome => false, shell => '/usr/sbin/nologin' }
        file { '/etc/cirunner-owned.conf':
          content => "owned\n",
          owner   => 'cirunner-test',
          mode    => '0640',
          require => User['cirunner-test'],
        }
        exec { 'as-nobody':
          command => '/bin/sh -c "/usr/bin/id -u > /tmp/as-nobody"',
          user    => 'nobody',
          creates => '/tmp/as-nobody',
        }

        """;

    public ContainerSecurityTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Fact]
    public async Task Job_DefaultLimits_UnprivilegedNoNewPrivilegesCapabilitiesDroppedLimitedOffline_AndPuppetStillWorks()
    {
        ContainerLimits limits = ContainerLimits.FromOptions(new DockerOptions { MemoryMb = 384, Cpus = 0.5, PidsLimit = 200 });
        string manifest = Folder.Write("scenario/site.pp", Manifest);
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase(
            "deploy",
            "site.pp",
            [],
            [new ScenarioFile("site.pp", manifest)],
            TestJobs.Apply(),
            TestJobs.Idempotency(),
            TestJobs.Command("owner", "sh", "-c", "test \"$(stat -c %U:%a /etc/cirunner-owned.conf)\" = cirunner-test:640 && test \"$(stat -c %u /tmp/as-nobody)\" = 65534"),
            TestJobs.Command("status", "grep", "-E", "^(NoNewPrivs|CapEff):", "/proc/self/status"),
            TestJobs.Command("no device nodes", "sh", "-c", "! mknod /tmp/null c 1 3"))) with { Limits = limits };
        var inspected = new InspectingProgress(Engine);

        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, inspected, CancellationToken.None);

        string log = await ReadLogAsync(job);
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + log);
        Assert.Contains("out Notice: /Stage[main]/Main/Exec[as-nobody]/returns: executed successfully", log, StringComparison.Ordinal);
        HostConfig? host = Assert.IsType<ContainerInspectResponse>(inspected.Container).HostConfig;
        Assert.NotNull(host);
        Assert.False(host.Privileged);
        Assert.Equal("none", host.NetworkMode);
        Assert.Equal(384L * 1024 * 1024, host.Memory);
        Assert.Equal(500_000_000L, host.NanoCPUs);
        Assert.Equal(200L, host.PidsLimit);
        Assert.Contains("no-new-privileges", host.SecurityOpt);
        Assert.Equal(["MKNOD", "NET_RAW"], host.CapDrop.Select(Capability).Order(StringComparer.Ordinal));
        Assert.Empty(host.CapAdd ?? []);
        Assert.Contains("out NoNewPrivs:\t1", log, StringComparison.Ordinal);
        ulong effective = EffectiveCapabilities(log);
        Assert.Equal(0UL, effective & (1UL << 13));
        Assert.Equal(0UL, effective & (1UL << 27));
        Assert.NotEqual(0UL, effective & 1UL);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task Job_HardeningTurnedOff_ContainerRunsWithDockersDefaults()
    {
        ContainerLimits limits = ContainerLimits.FromOptions(new DockerOptions { NoNewPrivileges = false, DropCapabilities = [] });
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase(
            "deploy",
            null,
            [],
            [],
            TestJobs.Command("status", "grep", "-E", "^NoNewPrivs:", "/proc/self/status"),
            TestJobs.Command("last", "true"))) with { Limits = limits };
        var inspected = new InspectingProgress(Engine);

        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, inspected, CancellationToken.None);

        string log = await ReadLogAsync(job);
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + log);
        HostConfig? host = Assert.IsType<ContainerInspectResponse>(inspected.Container).HostConfig;
        Assert.NotNull(host);
        Assert.Empty(host.SecurityOpt ?? []);
        Assert.Empty(host.CapDrop ?? []);
        Assert.Contains("out NoNewPrivs:\t0", log, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    private static string Capability(string name) => name.StartsWith("CAP_", StringComparison.Ordinal) ? name[4..] : name;

    private static ulong EffectiveCapabilities(string log)
    {
        string line = log.Split('\n').Single(l => l.Contains("out CapEff:", StringComparison.Ordinal));
        return ulong.Parse(line[(line.IndexOf("CapEff:", StringComparison.Ordinal) + 7)..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Inspects the job's container through the engine the moment it has started (it then waits for the executor
    /// between steps, so it is still there; only the last step ends it).
    /// </summary>
    private sealed class InspectingProgress(DockerEngineFixture engine) : IJobProgress
    {
        public ContainerInspectResponse? Container { get; private set; }

        public async ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken) =>
            Container = await engine.Docker.Containers.InspectContainerAsync(containerId, cancellationToken);

        public ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
