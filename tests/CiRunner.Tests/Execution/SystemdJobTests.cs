using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Execution;

/// <summary>
/// Jobs whose container boots systemd as PID 1, on the real engine with the base image (Debian 12 minbase, Puppet and
/// systemd): Puppet's service resources start real units, the steps keep their results, timeouts and cancellation,
/// and the container goes on every path.
/// </summary>
[Collection(DockerSystemdGroup.Name)]
[Trait("Category", "Docker")]
public sealed class SystemdJobTests : ExecutorTestBase
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    // A unit Puppet writes and starts; its process records who its parent is, which proves systemd started it.
    private const string ServiceManifest = """
        file { '/etc/systemd/system/cirunner-probe.service':
          content => "[Unit]\nDescription=CiRunner probe\n[Service]\nExecStart=/bin/sh -c 'echo started > /run/cirunner-probe; exec sleep infinity'\n[Install]\nWantedBy=multi-user.target\n",
        }
        ~> service { 'cirunner-probe':
          ensure => running,
          enable => true,
        }
        """;

    public SystemdJobTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Fact]
    public async Task ExecuteAsync_SystemdJob_PuppetStartsARealUnitThatSurvivesToVerify()
    {
        // Given a systemd job whose manifest declares a unit and a running, enabled service, then checks in later steps
        JobSpec job = SystemdJob(
            ServiceManifest,
            TestJobs.Apply(),
            TestJobs.Idempotency(),
            TestJobs.Command("pid 1 is systemd", "sh", "-c", "test \"$(cat /proc/1/comm)\" = systemd"),
            TestJobs.Command("unit active", "systemctl", "is-active", "cirunner-probe"),
            TestJobs.Command("unit enabled", "systemctl", "is-enabled", "cirunner-probe"),
            TestJobs.Command(
                "started by systemd",
                "sh",
                "-c",
                "pid=$(systemctl show -p MainPID --value cirunner-probe); test \"$(awk '/^PPid:/ {print $2}' /proc/$pid/status)\" = 1 && cat /run/cirunner-probe"));
        var progress = new RecordingProgress();

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, progress, CancellationToken.None);
        string log = await ReadLogAsync(job);

        // Then every step passed: the service Puppet started is a systemd unit, still active when verified
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + log);
        Assert.All(outcome.Steps, s => Assert.Equal(JobResult.Success, s.Result));
        Assert.Contains("systemd: running", log, StringComparison.Ordinal);
        Assert.Contains("systemd is up after", log, StringComparison.Ordinal);
        Assert.Contains("out started", log, StringComparison.Ordinal);
        Assert.Contains("Service[cirunner-probe]/ensure: ensure changed 'stopped' to 'running'", log, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_SystemdJob_KeepsLabelsLimitsAndHardening()
    {
        // Given a systemd job that waits until the test has looked at its container
        JobSpec job = SystemdJob(
            manifest: null,
            TestJobs.Command("wait", TimeSpan.FromSeconds(60), "sh", "-c", "sleep 60"));
        var inspected = new TaskCompletionSource<ContainerInspectResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancellation = new CancellationTokenSource();
        var progress = new RecordingProgress
        {
            OnStepStarted = _ => Task.Run(async () =>
            {
                try
                {
                    IList<ContainerListResponse> containers = await Engine.ContainersOfInstanceAsync(Instance);
                    inspected.TrySetResult(await Engine.Docker.Containers.InspectContainerAsync(Assert.Single(containers).ID));
                }
                catch (Exception ex)
                {
                    inspected.TrySetException(ex);
                }
            }),
        };

        // When it runs, and is cancelled once the container was inspected
        Task<JobOutcome> running = CreateExecutor().ExecuteAsync(job, progress, cancellation.Token);
        ContainerInspectResponse container = await inspected.Task.WaitAsync(Bound);
        await cancellation.CancelAsync();
        JobOutcome outcome = await running.WaitAsync(Bound);

        // Then the container booted systemd with the job's labels, limits and hardening, and is gone
        ContainerConfig config = container.Config!;
        HostConfig host = container.HostConfig!;
        Assert.Equal(SystemdContainer.InitPath, Assert.Single(config.Entrypoint!));
        Assert.Equal(job.InstanceId, config.Labels[ContainerLabels.Instance]);
        Assert.Equal(job.JobIdText, config.Labels[ContainerLabels.Job]);
        Assert.Equal(TestJobs.Limits.MemoryBytes, host.Memory);
        Assert.Equal("none", host.NetworkMode);
        Assert.False(host.Privileged);
        Assert.Contains("no-new-privileges", host.SecurityOpt!);
        Assert.Contains("NET_RAW", host.CapDrop);
        Assert.Contains("/run", host.Tmpfs!.Keys);
        Assert.True(outcome.Result == JobResult.Cancelled, outcome.Summary);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_SystemdJobStepTimesOut_EndsAsTimeoutAndRemovesTheContainer()
    {
        // Given a systemd job whose step outlives its timeout
        JobSpec job = SystemdJob(manifest: null, TestJobs.Command("slow", TimeSpan.FromSeconds(2), "sleep", "60"), TestJobs.Command("after", "true"));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is a timeout of that step, the next one skipped, and neither systemd nor the container is left
        Assert.True(outcome.Result == JobResult.Timeout, outcome.Summary);
        Assert.Equal(JobResult.Timeout, outcome.Steps[0].Result);
        Assert.Equal(JobResult.Skipped, outcome.Steps[1].Result);
        Assert.Contains("exceeded its 2 s limit", outcome.Summary, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_SystemdJobCancelledWhileBooting_LeavesNoContainer()
    {
        // Given systemd jobs cancelled at several moments of their start and boot
        var outcomes = new List<JobOutcome>();
        foreach (int delay in new[] { 0, 150, 400, 900 })
        {
            using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(delay));
            JobSpec job = SystemdJob(manifest: null, TestJobs.Command("after boot", "true"));

            // When each is cancelled
            outcomes.Add(await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), cancellation.Token).WaitAsync(Bound));
        }

        // Then each ended cancelled (or passed, when the cancellation came after its end), and no container is left
        Assert.All(outcomes, o => Assert.True(o.Result is JobResult.Cancelled or JobResult.Success, o.Summary));
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_SystemdNeverComesUp_EndsAsErrorWithTheJournal()
    {
        // Given an image whose boot never finishes within the job's boot timeout: a unit of the boot transaction
        // that takes a minute
        string image = await SlowBootImageAsync(Engine, Folder, Output);
        JobSpec job = SystemdJob(manifest: null, TestJobs.Command("after boot", "true")) with { Image = image };
        job = job with { BootTimeout = TimeSpan.FromSeconds(5) };

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);
        string log = await ReadLogAsync(job);

        // Then it is an infrastructure error, not a test failure, quoting systemd's state and the journal
        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Null(outcome.TransientCause);
        Assert.Contains("systemd did not come up within 5 s", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("systemd: starting", log, StringComparison.Ordinal);
        Assert.Contains("journal (last 40 lines):", log, StringComparison.Ordinal);
        Assert.Contains("cirunner-slow-boot", log, StringComparison.Ordinal);
        Assert.Equal(JobResult.Skipped, Assert.Single(outcome.Steps).Result);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_SystemctlSaysOfflineBeforeSystemdIsUp_WaitsAndRuns()
    {
        // Given an image whose systemctl answers "offline" to the first boot checks, as the real one does on a loaded
        // machine when it asks before systemd (already PID 1) has made /run/systemd/system
        string image = await EarlyOfflineImageAsync(Engine, Folder, Output);
        JobSpec job = SystemdJob(manifest: null, TestJobs.Command("after boot", "true")) with { Image = image };

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);
        string log = await ReadLogAsync(job);

        // Then the boot waits past the early answers instead of failing at the first one
        Assert.True(outcome.Result == JobResult.Success, $"{outcome.Summary}\n{log}");
        Assert.Matches("systemd: (running|degraded)", log);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_FromADeploySnapshot_TheEnabledUnitStartsAtBootAsOnARebootedNode()
    {
        // Given a systemd job whose deploy phase starts and enables a unit, saved as a snapshot when it ends green
        StepDefinition[] check =
        [
            TestJobs.Command("unit active", "systemctl", "is-active", "cirunner-probe"),
            TestJobs.Command(
                "started by this boot's systemd",
                "sh",
                "-c",
                "pid=$(systemctl show -p MainPID --value cirunner-probe); test \"$(awk '/^PPid:/ {print $2}' /proc/$pid/status)\" = 1 && cat /run/cirunner-probe"),
        ];
        JobSpec Job()
        {
            JobSpec deploy = SystemdJob(ServiceManifest, TestJobs.Apply(), TestJobs.Idempotency());
            return deploy with
            {
                Phases = [deploy.Phases[0], TestJobs.Phase("upgrade", null, [], [], check)],
                Snapshots = new PhaseSnapshotPolicy(Reuse: true, Save: [0]),
            };
        }

        try
        {
            JobOutcome first = await CreateExecutor(phaseSnapshots: true).ExecuteAsync(Job(), new RecordingProgress(), CancellationToken.None);
            Assert.True(first.Result == JobResult.Success, first.Summary);
            PhaseSnapshot made = Assert.Single(first.PhaseSnapshots);

            // When a second job with the same deploy phase runs
            JobSpec second = Job();
            JobOutcome outcome = await CreateExecutor(phaseSnapshots: true).ExecuteAsync(second, new RecordingProgress(), CancellationToken.None);
            string log = await ReadLogAsync(second);

            // Then its container started from the snapshot: systemd booted it and started the unit Puppet had enabled
            Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + log);
            PhaseSnapshot used = Assert.Single(outcome.PhaseSnapshots);
            Assert.Equal((PhaseSnapshot.Used, "deploy", made.ImageId), (used.Role, used.Phase, used.ImageId));
            Assert.Equal([JobResult.Success, JobResult.Success, JobResult.Success, JobResult.Success], outcome.Steps.Select(s => s.Result));
            Assert.Equal([TimeSpan.Zero, TimeSpan.Zero], outcome.Steps.Take(2).Select(s => s.Duration));
            Assert.Contains("phase deploy from snapshot", log, StringComparison.Ordinal);
            Assert.Contains("started\n", log, StringComparison.Ordinal);
            await AssertNoContainerLeftAsync();
        }
        finally
        {
            await Engine.RemovePhaseSnapshotsOfInstanceAsync(Instance);
        }
    }

    private JobSpec SystemdJob(string? manifest, params StepDefinition[] steps)
    {
        var files = new List<ScenarioFile>();
        if (manifest is not null)
        {
            files.Add(new ScenarioFile("site.pp", Folder.Write(Path.Combine("scenario", "site.pp"), manifest)));
        }

        JobPhase phase = TestJobs.Phase("deploy", manifest is null ? null : "site.pp", [], files, steps);
        return TestJobs.Job(Instance, Engine.PuppetImage, Folder, TimeSpan.FromMinutes(3), null, phase) with
        {
            Init = InitSystem.Systemd,
            BootTimeout = TimeSpan.FromSeconds(60),
        };
    }

    /// <summary>The base image with a systemctl in front of the real one that says "offline" to the first three <c>is-system-running</c> (built once, reused).</summary>
    private static async Task<string> EarlyOfflineImageAsync(DockerEngineFixture engine, TempDirectory folder, ITestOutputHelper output)
    {
        const string Tag = "cirunner-test/early-offline:1";
        string recipe = folder.Combine("early-offline");
        folder.Write(Path.Combine("early-offline", "systemctl"), """
            #!/bin/sh
            n=$(cat /run/cirunner-offline-answers 2>/dev/null || echo 0)
            if [ "$1" = is-system-running ] && [ "$n" -lt 3 ]; then
              echo $((n + 1)) > /run/cirunner-offline-answers
              echo offline
              exit 1
            fi
            exec /usr/bin/systemctl "$@"
            """.ReplaceLineEndings("\n") + "\n");
        folder.Write(Path.Combine("early-offline", "Dockerfile"), """
            ARG BASE_IMAGE
            FROM ${BASE_IMAGE}
            COPY systemctl /usr/local/bin/systemctl
            RUN chmod 755 /usr/local/bin/systemctl
            """);
        return await BuildOnPuppetImageAsync(engine, output, Tag, recipe);
    }

    /// <summary>The base image plus a oneshot unit in the boot transaction that sleeps a minute (built once, reused).</summary>
    internal static async Task<string> SlowBootImageAsync(DockerEngineFixture engine, TempDirectory folder, ITestOutputHelper output)
    {
        const string Tag = "cirunner-test/slow-boot:1";
        string recipe = folder.Combine("slow-boot");
        folder.Write(Path.Combine("slow-boot", "Dockerfile"), """
            ARG BASE_IMAGE
            FROM ${BASE_IMAGE}
            RUN printf '[Unit]\nDescription=cirunner-slow-boot\n[Service]\nType=oneshot\nExecStart=/bin/sleep 60\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/cirunner-slow-boot.service \
             && ln -s /etc/systemd/system/cirunner-slow-boot.service /etc/systemd/system/multi-user.target.wants/cirunner-slow-boot.service
            """);
        return await BuildOnPuppetImageAsync(engine, output, Tag, recipe);
    }

    /// <summary>Builds a test recipe FROM the Puppet image (once: the hash label makes a rebuild a no-op) and returns its tag.</summary>
    private static async Task<string> BuildOnPuppetImageAsync(DockerEngineFixture engine, ITestOutputHelper output, string tag, string recipe)
    {
        var builder = new ImageBuilder(engine.Docker, TimeProvider.System, new TestOutputLogger<ImageBuilder>(output));
        var args = new Dictionary<string, string>(StringComparer.Ordinal) { ["BASE_IMAGE"] = engine.PuppetImage };
        ImageBuildOutcome built = await builder.BuildAsync(
            new ImageRecipe(tag, recipe, args, "none", new Dictionary<string, string>(StringComparer.Ordinal)),
            force: false,
            output: null,
            CancellationToken.None);
        Assert.True(built.Succeeded, built.Error);
        return tag;
    }
}
