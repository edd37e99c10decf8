using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>
/// The identity and image smoke tests through the real executor against a real Zed Keystone and Glance: Debian 12's
/// packages and modules, deployed by the keystone-glance scenario's manifest in a container that boots systemd, offline.
/// Slow (an image of about 1.4 GB built from Debian's mirror, then a deployment of several minutes): its trait lets a
/// quick run leave it out.
/// </summary>
[Collection(DockerTempestGroup.Name)]
[Trait("Category", "RealOpenStack")]
public sealed class TempestRealOpenStackTests : ExecutorTestBase
{
    // Matches the keystone-glance manifest: Keystone under Apache on :5000 with the bootstrap's admin, Glance on :9292.
    private const string TempestConf = """
        [auth]
        use_dynamic_credentials = true
        admin_username = admin
        admin_password = a_big_secret
        admin_project_name = admin
        admin_domain_name = Default

        [identity]
        uri_v3 = http://127.0.0.1:5000/v3
        auth_version = v3
        region = RegionOne
        v3_endpoint_type = public

        [identity-feature-enabled]
        api_v2 = false
        api_v2_admin = false

        [image]
        container_formats = bare
        disk_formats = raw,qcow2

        [image-feature-enabled]
        api_v2 = true
        api_v1 = false
        import_image = false

        [service_available]
        glance = true
        nova = false
        neutron = false
        cinder = false
        swift = false
        """;

    private readonly TempestImage _images;

    public TempestRealOpenStackTests(DockerEngineFixture engine, TempestImage images, ITestOutputHelper output)
        : base(engine, output)
    {
        _images = images;
    }

    [Fact]
    public async Task ExecuteAsync_SmokeTestsAgainstARealKeystoneAndGlance_PassAndAreEachKept()
    {
        // Given a node image with Zed's Keystone, Glance and modules and Tempest 33, and a systemd job that applies the
        // keystone-glance manifest (with Debian's modules) and then runs the default tempest step
        string image = await _images.EnsureAsync(Engine, Output, $"{TempestImage.KeystoneGlancePackages} {TempestImage.TempestPackages}");
        string manifest = Path.Combine(RepositoryRoot.Path, "scenarios", "keystone-glance.pp");
        string config = Folder.Write("scenario/tempest.conf", TempestConf);
        var apply = TestJobs.Command(
            "apply with Debian's modules",
            TimeSpan.FromMinutes(40),
            "sh",
            "-c",
            "puppet apply --detailed-exitcodes --color=false /cirunner/scenario/keystone-glance.pp; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 2 ]");
        var tempest = new StepDefinition(StepKind.Tempest, "tempest", [], TimeSpan.FromMinutes(20))
        {
            Tempest = new TempestSettings("tempest.conf", TempestSettings.DefaultInclude, [], TempestSettings.DefaultConcurrency),
        };
        JobSpec job = TestJobs.Job(Instance, image, Folder, jobTimeout: TimeSpan.FromMinutes(70), phases: TestJobs.Phase(
            "deploy", null, [], [new ScenarioFile("keystone-glance.pp", manifest), new ScenarioFile("tempest.conf", config)], apply, tempest)) with
        {
            Init = InitSystem.Systemd,
            BootTimeout = TimeSpan.FromMinutes(2),
            Limits = TestJobs.Limits with { MemoryBytes = 4096L * 1024 * 1024, Cpus = 2.0, PidsLimit = 4096 },
        };

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);
        string log = await ReadLogAsync(job);

        // Then Tempest passed: every identity and image smoke test but the identity v2 classes, which are skipped
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + string.Join('\n', log.Split('\n').TakeLast(80)));
        StepOutcome step = outcome.Steps[1];
        Output.WriteLine($"tempest step: {step.Duration.TotalSeconds:F1} s, {step.TempestTests.Count} tests");
        Assert.Equal(21, step.TempestTests.Count);
        Assert.Equal(18, step.TempestTests.Count(t => t.Status == TempestTestStatus.Passed));
        Assert.All(step.TempestTests.Where(t => t.Status == TempestTestStatus.Skipped), t => Assert.StartsWith("setUpClass (tempest.api.identity.", t.TestId, StringComparison.Ordinal));
        Assert.Contains(step.TempestTests, t => t.ShortName == "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_register_upload_get_image_file");
        await AssertNoContainerLeftAsync();
    }
}
