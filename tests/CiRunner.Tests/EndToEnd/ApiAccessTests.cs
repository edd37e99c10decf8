using System.Net;
using System.Net.Http.Headers;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.EndToEnd;

/// <summary>The token rules with <c>Http:ProtectReads: true</c>, on the real service: reads need the token like writes; probes stay open.</summary>
public sealed class ApiAccessTests : IDisposable
{
    private static readonly string[] Reads = ["/", "/runs", "/queue", "/modules", "/api/runs", "/api/cells", "/api/queue", "/api/modules", "/api/runs/1", "/api/runs/1/junit.xml"];

    private readonly ConfigFolder _folder = new();
    private readonly string _tokenVariable = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";
    private readonly int _port = FreePort.Next();

    public ApiAccessTests()
    {
        _folder.Set("Http:Listen", $"http://127.0.0.1:{_port}");
        _folder.Set("Http:ApiTokenVariable", _tokenVariable);
        _folder.Set("Http:ProtectReads", true);
        _folder.Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());
        _folder.Save();
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, null);
        _folder.Dispose();
    }

    [Fact]
    public async Task ProtectedReads_WithoutOrWithAWrongToken_Answer401_WithTheTokenAnswer_AndProbesStayOpen()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, "s3cret");
        await using WebApplication app = await StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        using var wrong = new HttpClient { BaseAddress = client.BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "guess");
        using var right = new HttpClient { BaseAddress = client.BaseAddress };
        right.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");

        foreach (string read in Reads)
        {
            Assert.Equal((read, HttpStatusCode.Unauthorized), (read, await StatusAsync(client, read)));
            Assert.Equal((read, HttpStatusCode.Unauthorized), (read, await StatusAsync(wrong, read)));
            HttpStatusCode allowed = await StatusAsync(right, read);
            Assert.True(allowed is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{read} with the token: {allowed}");
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/metrics"));
        Assert.NotEqual(HttpStatusCode.Unauthorized, await StatusAsync(client, "/healthz"));
        await app.StopAsync();
    }

    [Fact]
    public async Task NoTokenConfigured_WritesAndProtectedReads_Answer503NamingTheVariable()
    {
        await using WebApplication app = await StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything");

        using HttpResponseMessage read = await client.GetAsync(new Uri("/api/runs", UriKind.Relative));
        using HttpResponseMessage cancel = await client.PostAsync(new Uri("/api/runs/1/cancel", UriKind.Relative), null);
        using HttpResponseMessage rerun = await client.PostAsync(new Uri("/api/jobs/1/rerun", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerun.StatusCode);
        Assert.Contains(_tokenVariable, await cancel.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync();
    }

    private async Task<WebApplication> StartAsync()
    {
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        WebApplication app = ServiceHost.Build(loaded.Settings!, ConfigurationLoader.BuildConfiguration(_folder.ConfigFile));
        await app.StartAsync();
        return app;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }
}
