using System.CommandLine;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;
using CiRunner.Web;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// Idempotency drift from real Puppet runs: a module that converges, then a commit whose manifest writes a timestamp on
/// every apply, run three times with <c>cirunner run</c> on the real engine; the service on the same database then shows
/// the drift on the cell's history page and API (first seen in the second run, changed in 2 of 3) and in the
/// <c>cirunner_idempotency_changes</c> metric.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class IdempotencyDriftTests : IDisposable
{
    private const string Cell = "zed/drifts";

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly int _port = FreePort.Next();
    private string _drifting = "";

    public IdempotencyDriftTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("work", "puppet-demo");
        GitRepositories.Create(_repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {\n  file { '/etc/demo.conf': ensure => file, content => \"steady\\n\" }\n}\n",
        });
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_AManifestThatDriftsFromTheSecondCommit_HistoryAndMetricShowTheDriftSinceThen()
    {
        // Given a run of the converging module, then two runs of a commit that writes a new timestamp on every apply
        string configFile = WriteConfig();
        (int converged, string convergedOutput) = await RunAsync(configFile);
        Assert.True(converged == 0, convergedOutput);
        _drifting = GitRepositories.Commit(_repository, new Dictionary<string, string>
        {
            ["manifests/init.pp"] = "class demo {\n  file { '/etc/demo.conf': ensure => file, content => \"steady\\n\" }\n  file { '/var/lib/demo.stamp': content => \"${Timestamp.new}\\n\" }\n}\n",
        }, "stamp every apply");
        for (int i = 0; i < 2; i++)
        {
            (int exitCode, string output) = await RunAsync(configFile);
            Assert.True(exitCode == 1, output);
        }

        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));

        // When the service serves the same database
        WebApplication app = await ServeAsync();
        try
        {
            await AssertDriftServedAsync();
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task AssertDriftServedAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };

        // Then the history's drift names the stamp file: deploy phase, first seen in the second run at the drifting
        // commit, changed in 2 of the 3 runs, and still changing
        using JsonDocument history = JsonDocument.Parse(await http.GetStringAsync(CellHistoryEndpoints.ApiLink("demo", "master", Cell)));
        JsonElement[] runs = [.. history.RootElement.GetProperty("runs").EnumerateArray()];
        Assert.Equal(["failure", "failure", "success"], runs.Select(r => r.GetProperty("result").GetString()));
        Assert.Equal([1, 1, 0], runs.Select(r => r.GetProperty("idempotencyChanges").GetInt32()));
        JsonElement drift = Assert.Single(history.RootElement.GetProperty("drift").EnumerateArray());
        Assert.Equal(
            ("File[/var/lib/demo.stamp]", "content", "deploy", 2, true),
            (drift.GetProperty("resource").GetString(), drift.GetProperty("property").GetString(), drift.GetProperty("phase").GetString(), drift.GetProperty("runs").GetInt32(), drift.GetProperty("stillChanges").GetBoolean()));

        // (each failed run's cell ran again on the same lockfile, Flakes:Reruns, and drifted again: first seen in the
        // first attempt of the second run, last seen in the newest run's rerun)
        Assert.Equal((2, true), (runs[1].GetProperty("attempt").GetInt32(), runs[1].GetProperty("rerun").GetBoolean()));
        JsonElement firstAttempt = Assert.Single(runs[1].GetProperty("earlierAttempts").EnumerateArray());
        Assert.Equal((1, "failure"), (firstAttempt.GetProperty("attempt").GetInt32(), firstAttempt.GetProperty("result").GetString()));
        Assert.Equal((firstAttempt.GetProperty("jobId").GetInt64(), _drifting), (drift.GetProperty("firstSeen").GetProperty("jobId").GetInt64(), drift.GetProperty("firstSeen").GetProperty("commitSha").GetString()));
        Assert.Equal(runs[0].GetProperty("jobId").GetInt64(), drift.GetProperty("lastSeen").GetProperty("jobId").GetInt64());

        // And the page's drift table says so
        string page = WebUtility.HtmlDecode(await http.GetStringAsync(CellHistoryEndpoints.PageLink("demo", "master", Cell)));
        Assert.Contains("<tr data-resource=\"File[/var/lib/demo.stamp]\">", page, StringComparison.Ordinal);
        Assert.Contains("2 of 3", page, StringComparison.Ordinal);

        // And the metric counts the one property that changed in the cell's latest result
        string metrics = await http.GetStringAsync("/metrics");
        Assert.Matches("cirunner_idempotency_changes\\{[^}]*cell=\"zed/drifts\"[^}]*\\} 1", metrics);
    }

    private async Task<WebApplication> ServeAsync()
    {
        // The same data directory; no engine, an unreachable module and no bisect, so the service starts no job of its own
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = "https://opendev.org/openstack/puppet-demo", ["Branches"] = new JsonArray("master") }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["Endpoint"] = ConfigFolder.NoEngine },
            ["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{_port}" },
            ["Bisect"] = new JsonObject { ["Enabled"] = false },
        };
        string serveFile = _folder.Write("serve.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(serveFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        WebApplication app = ServiceHost.Build(loaded.Settings!, ConfigurationLoader.BuildConfiguration(serveFile));
        await app.StartAsync();
        return app;
    }

    private string WriteConfig()
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/drifts.pp", "include demo\n");
        _folder.Write("scenarios/drifts.yaml", "name: drifts\nmanifest: drifts.pp\nmodules: [demo]\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master") }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 1, ["MemoryMb"] = 512 },
        };
        string configFile = _folder.Write("appsettings.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return configFile;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string configFile)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.Build()
            .Parse(["run", "--config", configFile, "--module", "demo", "--ref", "master", "--scenario", "drifts"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString() + error);
    }
}
