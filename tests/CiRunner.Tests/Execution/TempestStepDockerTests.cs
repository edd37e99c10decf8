using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;

namespace CiRunner.Tests.Execution;

/// <summary>
/// Tempest steps through the real executor on the real engine: Debian 12's <c>tempest</c> 33 in an image built for the
/// tests FROM the Puppet base image, run against a node where nothing listens (the container has no network), so every
/// identity class fails in <c>setUpClass</c> and the v2 ones are skipped; every test's result is read out of the
/// container and stored with the job.
/// </summary>
[Collection(DockerTempestGroup.Name)]
[Trait("Category", "Docker")]
public sealed class TempestStepDockerTests : ExecutorTestBase
{
    private const string IdentitySmoke = @"^tempest\.api\.identity\..*\[.*\bsmoke\b.*\]";

    // What the keystone-glance scenario ships, pointing at a Keystone that is not there.
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

        [identity-feature-enabled]
        api_v2 = false

        [service_available]
        glance = true
        nova = false
        neutron = false
        cinder = false
        swift = false
        """;

    private readonly TempestImage _image;

    public TempestStepDockerTests(DockerEngineFixture engine, TempestImage image, ITestOutputHelper output)
        : base(engine, output)
    {
        _image = image;
    }

    [Theory]
    [InlineData(InitSystem.None)]
    [InlineData(InitSystem.Systemd)]
    public async Task ExecuteAsync_TempestAgainstNothing_FailsNamingTheTestsAndStoresEveryResult(InitSystem init)
    {
        // Given a job of a stored run, its container booting systemd or not: a tempest step (the last) on the identity
        // smoke tests, test_list_api_versions excluded, with the scenario's tempest.conf; the step's results go
        // through the recorder into a temp SQLite file
        string image = await _image.EnsureAsync(Engine, Output);
        using var database = new TempDatabase();
        ResultsStore store = database.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        Assert.True(await store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None));
        string config = Folder.Write("scenario/tempest.conf", TempestConf);
        var tempest = new StepDefinition(StepKind.Tempest, "tempest", [], TimeSpan.FromMinutes(5))
        {
            Tempest = new TempestSettings("tempest.conf", [IdentitySmoke], ["test_list_api_versions"], 2),
        };
        JobSpec job = TestJobs.Job(Instance, image, Folder, jobTimeout: TimeSpan.FromMinutes(6), phases: TestJobs.Phase(
            "deploy", null, [], [new ScenarioFile("tempest.conf", config)], TestJobs.Command("before", "true"), tempest)) with
        {
            RunId = run.Run.Id,
            JobId = run.Jobs[0].Id,
            Init = init,
            BootTimeout = TimeSpan.FromSeconds(60),
        };

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new JobRecorder(store.JobProgress), CancellationToken.None);
        string log = await ReadLogAsync(job);

        // Then the step failed on its tests, the summary names the first ones, and the container is gone
        Assert.True(outcome.Result == JobResult.Failure, outcome.Summary + "\n" + log);
        StepOutcome step = outcome.Steps[1];
        Assert.Equal((StepKind.Tempest, 1L), (step.Kind, step.ExitCode));
        List<TempestTestResult> failed = [.. step.TempestTests.Where(t => t.Status == TempestTestStatus.Failed)];
        List<TempestTestResult> skipped = [.. step.TempestTests.Where(t => t.Status == TempestTestStatus.Skipped)];
        Assert.NotEmpty(failed);
        Assert.Equal(3, skipped.Count);
        Assert.All(skipped, t => Assert.Equal("Identity api v2 is not enabled", t.SkipReason));
        Assert.All(failed, t => Assert.StartsWith("setUpClass (tempest.api.identity.", t.TestId, StringComparison.Ordinal));
        Assert.All(failed, t => Assert.Contains("Connection refused", t.Traceback, StringComparison.Ordinal));
        Assert.DoesNotContain(step.TempestTests, t => t.TestId.Contains("test_list_api_versions", StringComparison.Ordinal));
        Assert.StartsWith($"failure: step 'tempest' (tempest, phase deploy): {failed.Count} of {failed.Count + 3} Tempest tests failed (0 passed, 3 skipped): setUpClass (tempest.api.identity.", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='127.0.0.1', port=5000)", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("; and ", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("Totals", log, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();

        // And every test is stored with the job, by its step
        JobDetail detail = (await store.Jobs.GetDetailAsync(run.Jobs[0].Id, CancellationToken.None))!;
        StepRecord stored = detail.Steps.Single(s => s.Kind == StepKind.Tempest);
        Assert.Equal(step.TempestTests.Count, detail.TempestTests.Count);
        Assert.All(detail.TempestTests, t => Assert.Equal((stored.Id, "deploy"), (t.StepId, t.Phase)));
        Assert.Equal(
            step.TempestTests.OrderBy(t => t.Status == TempestTestStatus.Failed ? 0 : 1).ThenBy(t => t.TestId, StringComparer.Ordinal).Select(t => (t.TestId, t.Status, t.Traceback)),
            detail.TempestTests.Select(t => (t.TestId, t.Status, t.Traceback)));
    }

    [Fact]
    public async Task ExecuteAsync_ImageWithoutTempest_IsAnErrorNamingThePackages()
    {
        // Given the Puppet image, which has no Tempest, and a tempest step as the job's last step
        string config = Folder.Write("scenario/tempest.conf", TempestConf);
        var tempest = new StepDefinition(StepKind.Tempest, "tempest", [], TimeSpan.FromMinutes(1))
        {
            Tempest = new TempestSettings("tempest.conf", [IdentitySmoke], [], 1),
        };
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase("deploy", null, [], [new ScenarioFile("tempest.conf", config)], tempest));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is the image's fault, not a test failure, and the evidence says what to install
        Assert.Equal(JobResult.Error, outcome.Result);
        Assert.Equal(127L, outcome.Steps[0].ExitCode);
        Assert.Contains("cirunner: no tempest in this image (Debian packages tempest, subunit, python3-junitxml)", outcome.Summary, StringComparison.Ordinal);
        Assert.Empty(outcome.Steps[0].TempestTests);
        await AssertNoContainerLeftAsync();
    }
}

/// <summary>Tempest steps; beside the other Docker collections, sharing the engine.</summary>
[CollectionDefinition(Name)]
public sealed class DockerTempestGroup : ICollectionFixture<DockerEngineFixture>, ICollectionFixture<TempestImage>
{
    public const string Name = "docker-tempest";
}

/// <summary>
/// Images for the tempest tests, <c>cirunner-test/tempest:&lt;hash&gt;</c>: the Puppet base image with Debian's
/// <c>tempest</c>, <c>subunit</c> and <c>python3-junitxml</c>, built once per machine from Debian's mirror (network
/// host) and reused while its recipe's hash label matches, like every image the tests build.
/// </summary>
public sealed class TempestImage : IAsyncLifetime, IDisposable
{
    /// <summary>What every tempest step needs in its image.</summary>
    public const string TempestPackages = "tempest subunit python3-junitxml";

    /// <summary>A Zed Keystone and Glance node as the keystone-glance manifest deploys it (the zed release image's packages).</summary>
    public const string KeystoneGlancePackages =
        "puppet-module-keystone puppet-module-glance puppet-module-puppetlabs-mysql puppet-module-puppetlabs-apache puppet-module-saz-memcached " +
        "mariadb-server keystone glance apache2 libapache2-mod-wsgi-py3 memcached python3-memcache python3-pymemcache python3-openstackclient " +
        "python3-pymysql python3-glanceclient mime-support";

    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, string> _tags = new(StringComparer.Ordinal);
    private string? _endpoint;

    /// <summary>The tag of an image with <paramref name="packages"/> on top of the Puppet image, built on first use.</summary>
    public async Task<string> EnsureAsync(DockerEngineFixture engine, ITestOutputHelper output, string packages = TempestPackages)
    {
        ArgumentNullException.ThrowIfNull(engine);
        await _lock.WaitAsync();
        try
        {
            if (!_tags.TryGetValue(packages, out string? tag))
            {
                tag = $"cirunner-test/tempest:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(packages)))[..12]}";
                using var recipe = new TempDirectory();
                recipe.Write("Dockerfile", $$"""
                    ARG BASE_IMAGE
                    FROM ${BASE_IMAGE}
                    RUN apt-get update \
                     && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {{packages}} \
                     && apt-get clean && rm -rf /var/lib/apt/lists/*
                    """);
                var builder = new ImageBuilder(engine.Docker, TimeProvider.System, new TestOutputLogger<ImageBuilder>(output));
                _endpoint = engine.Endpoint;
                _tags[packages] = tag;
                ImageBuildOutcome built = await builder.BuildAsync(
                    new ImageRecipe(tag, recipe.Path, new Dictionary<string, string> { [ReleaseImages.BaseImageArgument] = engine.PuppetImage }, "host", new Dictionary<string, string>()),
                    force: false,
                    output: null,
                    CancellationToken.None);
                Assert.True(built.Succeeded, $"building {tag} failed: {built.Error}\n{string.Join('\n', built.OutputTail)}");
            }

            return tag;
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // Kept for the next run on this machine (its hash label says when it is stale), as the base and release images are.
    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _lock.Dispose();
}
