using System.Collections.Concurrent;
using System.Diagnostics;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The real service on a loopback port with one finished run on the real engine: a passing cell
/// (<c>zed/converges</c>) and a failing one (<c>zed/fails</c>, Puppet cannot find a class). Shared by the
/// dashboard, metrics and API tests of a class, because a run costs seconds of containers. Two webhooks report
/// the run to a real local receiver: <see cref="SentWebhook"/> signs with the receiver's secret (sent),
/// <see cref="RefusedWebhook"/> with another one (the receiver answers 401, so the report fails for good).
/// </summary>
public sealed class ObservedService : IAsyncLifetime, IDisposable
{
    public const string FailureText = "Could not find class ::nosuchclass";

    private readonly DockerEngineFixture _engine = new();
    private readonly TempDirectory _folder = new();
    private readonly ActivityListener _listener;
    private readonly string _secretVariable = $"CIRUNNER_TEST_WEBHOOK_{Guid.NewGuid():N}";
    private readonly string _wrongSecretVariable = $"CIRUNNER_TEST_WEBHOOK_{Guid.NewGuid():N}";
    private WebhookReceiver? _webhook;
    private WebApplication? _app;

    public ObservedService()
    {
        // Process-wide, like every ActivityListener: tests filter what they read by this service's run ids.
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CiRunnerTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Activities.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Every CiRunner activity stopped in this process since the fixture was created.</summary>
    public ConcurrentBag<Activity> Activities { get; } = [];

    /// <summary>A variable name of this fixture's own, so parallel tests never see each other's tokens.</summary>
    public string TokenVariable { get; } = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";

    public string Token { get; } = Guid.NewGuid().ToString("N");

    public string ServiceInstanceId { get; } = DockerEngineFixture.NewInstanceId();

    public int Port { get; } = FreePort.Next();

    /// <summary>The reporter name of the webhook the receiver accepts; unique, as metrics are process-wide.</summary>
    public string SentWebhook { get; } = $"webhook:ok-{Guid.NewGuid():N}"[..28];

    /// <summary>The reporter name of the webhook the receiver refuses.</summary>
    public string RefusedWebhook { get; } = $"webhook:refused-{Guid.NewGuid():N}"[..32];

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    public RunDetail Run { get; private set; } = null!;

    public JobRecord PassingJob => Run.Jobs.Single(j => j.Scenario == "converges");

    public JobRecord FailingJob => Run.Jobs.Single(j => j.Scenario == "fails");

    public IServiceProvider Services => _app!.Services;

    public DockerEngineFixture Engine => _engine;

    public async Task InitializeAsync()
    {
        await _engine.InitializeAsync();
        _webhook = await WebhookReceiver.StartAsync("the-receivers-secret");
        string repository = _folder.Combine("remotes", "puppet-demo");
        string commit = GitRepositories.Create(repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {\n  file { '/etc/demo.conf': ensure => file, content => 'converged' }\n}\n",
        });
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/converges.pp", "include demo\n");
        _folder.Write("scenarios/converges.yaml", "name: converges\nmanifest: converges.pp\nmodules: [demo]\nsteps:\n  - apply\n  - idempotency\n");
        _folder.Write("scenarios/fails.pp", "include nosuchclass\n");
        _folder.Write("scenarios/fails.yaml", "name: fails\nmanifest: fails.pp\nmodules: [demo]\n");
        string configFile = new TestConfiguration()
            .Set("Service:InstanceId", ServiceInstanceId)
            .Set("Service:DataDirectory", "data")
            .Set("Service:ScenariosDirectory", "scenarios")
            .AddModule("demo", repository, "master")
            .AddRelease("zed", _engine.PuppetImage, "master")
            .Set("Docker:Endpoint", _engine.Endpoint)

            // One failing job for the dashboard, metrics and traces to show; the flake re-run has its own tests.
            .Set("Flakes:Reruns", 0)
            .Set("Docker:ParallelJobs", 2)
            .Set("Docker:MemoryMb", 512)
            .Set("Http:Listen", $"http://127.0.0.1:{Port}")
            .Set("Http:ApiTokenVariable", TokenVariable)
            .Set("Reporting:Webhooks:0:Name", SentWebhook["webhook:".Length..])
            .Set("Reporting:Webhooks:0:Url", _webhook.Url)
            .Set("Reporting:Webhooks:0:SecretVariable", _secretVariable)
            .Set("Reporting:Webhooks:1:Name", RefusedWebhook["webhook:".Length..])
            .Set("Reporting:Webhooks:1:Url", _webhook.Url)
            .Set("Reporting:Webhooks:1:SecretVariable", _wrongSecretVariable)
            .WriteTo(_folder.Combine("appsettings.json"));
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        if (!loaded.Succeeded)
        {
            throw new InvalidOperationException(string.Join('\n', loaded.Errors));
        }

        Environment.SetEnvironmentVariable(TokenVariable, Token);
        Environment.SetEnvironmentVariable(_secretVariable, _webhook.Secret);
        Environment.SetEnvironmentVariable(_wrongSecretVariable, "not-the-receivers-secret");
        _app = ServiceHost.Build(loaded.Settings!, ConfigurationLoader.BuildConfiguration(configFile));
        await _app.StartAsync();
        Run = await Services.GetRequiredService<RunLauncher>()
            .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", commit, RequestedBy: "test"), CancellationToken.None);
        await WaitForRunAsync(Run.Run.Id);
    }

    public Task<RunRecord> WaitForRunAsync(long runId) => RunWaits.ForRunAsync(Services.GetRequiredService<RunStore>(), runId);

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Environment.SetEnvironmentVariable(TokenVariable, null);
        Environment.SetEnvironmentVariable(_secretVariable, null);
        Environment.SetEnvironmentVariable(_wrongSecretVariable, null);
        if (_webhook is not null)
        {
            await _webhook.DisposeAsync();
        }

        await _engine.DisposeAsync();
    }

    /// <summary>After <see cref="DisposeAsync"/>: the service has stopped writing into the folder.</summary>
    public void Dispose()
    {
        _listener.Dispose();
        _folder.Dispose();
    }
}
