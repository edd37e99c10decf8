using System.Collections.Concurrent;
using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json;
using CiRunner.Cli;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CiRunner.Tests.Faults;

/// <summary>
/// Secrets given to the real service through a file (the API token, a git password) and a variable (the git user):
/// a module whose remote demands that login and refuses it is polled, runs are triggered with the token, every page
/// and API answer is read, and then the captured logs, the answers and every byte under the data directory (the
/// database with its WAL, logs, mirrors) are searched for the secrets.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerResilienceGroup.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SecretRedactionTests : IAsyncLifetime
{
    private readonly ServiceUnderTest _service;
    private readonly string _password = $"pw-{Guid.NewGuid():N}";
    private readonly string _userVariable = $"CIRUNNER_TEST_GIT_USER_{Guid.NewGuid():N}";
    private readonly ConcurrentQueue<string> _authorizations = new();
    private WebApplication? _gitServer;

    public SecretRedactionTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _service = new ServiceUnderTest(engine, output);
    }

    public async Task InitializeAsync()
    {
        // A git smart-HTTP remote that asks for a login and never accepts one (a rotated password, say).
        int port = FreePort.Next();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        _gitServer = builder.Build();
        _gitServer.Run(context =>
        {
            _authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"git\"";
            return Task.CompletedTask;
        });
        await _gitServer.StartAsync();

        string tokenFile = SecretFile("secrets/api-token", _service.Token + "\n");
        string passwordFile = SecretFile("secrets/git-password", _password + "\n");
        Environment.SetEnvironmentVariable(_userVariable, "ci-bot");
        _service.Configuration
            .Set("Http:ApiTokenVariable", null)
            .Set("Http:ApiTokenFile", tokenFile)
            .AddModule("locked", $"http://127.0.0.1:{port}/puppet-locked.git", "master")
            .Set("Modules:1:Credentials:UsernameVariable", _userVariable)
            .Set("Modules:1:Credentials:PasswordFile", passwordFile);
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Environment.SetEnvironmentVariable(_userVariable, null);
        if (_gitServer is not null)
        {
            await _gitServer.DisposeAsync();
        }
    }

    [Fact]
    public async Task SecretsFromAFileAndTheEnvironment_UsedButNeverInLogsAnswersOrTheDataDirectory()
    {
        await _service.StartAsync();
        using HttpClient client = _service.Client();
        ModulePollStatus failed = await WaitForFailedPollAsync();
        using HttpResponseMessage created = await ServiceUnderTest.TriggerAsync(client);
        string createdBody = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, createdBody);
        long runId = JsonDocument.Parse(createdBody).RootElement.GetProperty("runId").GetInt64();
        await _service.WaitForRunAsync(runId);
        long jobId = (await _service.Get<RunStore>().GetDetailAsync(runId, CancellationToken.None))!.Jobs[0].Id;

        var answers = new List<string> { createdBody, failed.LastError! };
        foreach (string path in (string[])["/api/modules", "/modules", "/healthz", "/api/runs", $"/api/runs/{runId}", $"/runs/{runId}", $"/api/jobs/{jobId}",
            $"/jobs/{jobId}", $"/api/jobs/{jobId}/log", "/", "/queue", "/api/queue", "/scenarios", "/api/scenarios", "/metrics"])
        {
            answers.Add(await client.GetStringAsync(new Uri(path, UriKind.Relative)));
        }

        using var stranger = new HttpClient { BaseAddress = _service.BaseUrl };
        stranger.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "guess");
        using HttpResponseMessage refused = await ServiceUnderTest.TriggerAsync(stranger);
        answers.Add(await refused.Content.ReadAsStringAsync());
        foreach (string[] verb in (string[][])[["status"], ["validate"], ["runs"], ["show", runId.ToString(System.Globalization.CultureInfo.InvariantCulture)]])
        {
            var output = new StringWriter();
            await CliApplication.Build().Parse([.. verb, "--config", _service.Settings.ConfigFile])
                .InvokeAsync(new InvocationConfiguration { Output = output, Error = output }, CancellationToken.None);
            answers.Add(output.ToString());
        }

        await _service.StopAsync();
        string dataDirectory = _service.Settings.DataPaths.Root;
        byte[][] files = Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToArray();

        // The login really went to the remote, so the secrets were read and used...
        string basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"ci-bot:{_password}"));
        Assert.Contains(basic, _authorizations);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains(files, bytes => bytes.Length > 0);

        // ...and went nowhere else.
        foreach (string secret in (string[])[_password, _service.Token, basic[6..]])
        {
            Assert.DoesNotContain(secret, _service.Logs.Text, StringComparison.Ordinal);
            Assert.All(answers, answer => Assert.DoesNotContain(secret, answer, StringComparison.Ordinal));
            byte[] needle = Encoding.UTF8.GetBytes(secret);
            Assert.All(files, bytes => Assert.Equal(-1, bytes.AsSpan().IndexOf(needle)));
        }
    }

    private async Task<ModulePollStatus> WaitForFailedPollAsync()
    {
        PollStatusStore store = _service.Get<PollStatusStore>();
        return await Eventually.ForAsync(
            "the poll of the module whose remote refuses the login",
            async () => await store.GetAsync("locked", CancellationToken.None) is { LastError: not null } status ? status : null,
            TimeSpan.FromSeconds(90));
    }

    private string SecretFile(string relativePath, string content)
    {
        string path = _service.Folder.Write(relativePath, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
