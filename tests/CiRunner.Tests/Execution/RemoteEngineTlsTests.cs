using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Docker.DotNet;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.Execution;

[CollectionDefinition(Name)]
public sealed class RemoteEngineGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-remote-tls";
}

/// <summary>
/// A remote engine over TCP + TLS is a configuration change: a private dockerd listening with <c>--tlsverify</c> on
/// loopback, certificates made by openssl in a temp folder, and the service configured with <c>Docker:Endpoint</c>
/// <c>tcp://</c> and <c>Docker:TlsCertDirectory</c>.
/// </summary>
[Trait("Category", "Docker")]
[Collection(RemoteEngineGroup.Name)]
public sealed class RemoteEngineTlsTests : IDisposable
{
    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _certificates = new();

    public RemoteEngineTlsTests(DockerEngineFixture engine)
    {
        _engine = engine;
    }

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task TlsEngine_JobRunsThroughClientCertificates_AndAClientWithoutThemIsRefused()
    {
        string client = await TestCertificates.MakeAsync(_certificates);
        int port = FreePort.Next();
        string endpoint = $"tcp://127.0.0.1:{port}";
        await using PrivateDockerDaemon daemon = await PrivateDockerDaemon.StartAsync(
            "--host", endpoint, "--tlsverify",
            "--tlscacert", _certificates.Combine("ca.pem"), "--tlscert", _certificates.Combine("server-cert.pem"), "--tlskey", _certificates.Combine("server-key.pem"));
        await daemon.LoadImageAsync(_engine.Docker, _engine.PuppetImage);

        using var service = new ServiceFolder(_engine.PuppetImage, endpoint);
        service.AddCommandScenario("over-tls", "sh", "-c", "echo ran over tls");
        service.Configuration.Set("Docker:TlsCertDirectory", client).Set("Schedule:PollInterval", "1h");
        RunRecord finished;
        await using (WebApplication app = service.BuildHost())
        {
            await app.StartAsync();
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", service.FirstCommit, RequestedBy: "test"), CancellationToken.None);
            finished = await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id);
            JobRecord job = (await app.Services.GetRequiredService<JobStore>().GetAsync(run.Jobs[0].Id, CancellationToken.None))!;
            Assert.Equal(JobResult.Success, job.Result);
            Assert.Contains("ran over tls", await File.ReadAllTextAsync(job.LogPath!), StringComparison.Ordinal);
            await app.StopAsync();
        }

        using IDockerClient plain = DockerClientFactory.Create(new DockerOptions { Endpoint = endpoint });
        DockerApiException refused = await Assert.ThrowsAsync<DockerApiException>(() => plain.System.PingAsync());

        Assert.Equal(JobResult.Success, finished.Result);
        Assert.Contains("HTTP request to an HTTPS server", refused.ResponseBody, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TlsCertDirectory_NamesTheMissingFilesAndTheEndpointItNeeds()
    {
        using var folder = new ConfigFolder();
        folder.Write("certs/ca.pem", "not a certificate");
        folder.Set("Docker:Endpoint", "tcp://127.0.0.1:2376");
        folder.Set("Docker:TlsCertDirectory", "certs");
        ConfigurationLoadResult missing = folder.Load();
        folder.Set("Docker:Endpoint", "unix:///var/run/docker.sock");
        ConfigurationLoadResult wrongEndpoint = folder.Load();

        string error = Assert.Single(missing.Errors).ToString();
        Assert.Contains("Docker:TlsCertDirectory: 'certs'", error, StringComparison.Ordinal);
        Assert.Contains("missing in " + Path.Combine(folder.Root, "certs") + ": cert.pem, key.pem", error, StringComparison.Ordinal);
        Assert.Contains("tcp://host:2376 endpoints only", Assert.Single(wrongEndpoint.Errors).ToString(), StringComparison.Ordinal);
    }
}
