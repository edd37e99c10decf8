using System.CommandLine;
using System.Net;
using System.Text.Json;
using System.Xml.Linq;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// A deterministic flake through the real service and real containers: a scenario's command step fails on a cell's
/// first attempt and passes on its second (it reads <c>CIRUNNER_ATTEMPT</c>) while the module's <c>flake-mode</c> file
/// says <c>once</c>, and fails on every attempt once a commit sets it to <c>always</c>. The first run's cell runs again
/// on the same lockfile and ends flaky on every surface; the second run's failure has the same signature, which has
/// flaked in half the cell's runs, so it is reported as known flaky.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class FlakeLedgerTests : IDisposable
{
    private const string Cell = "zed/flip";
    private const string Signature = "deploy/flip: command exited N";

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly int _port = FreePort.Next();
    private readonly string _secretVariable = $"CIRUNNER_TEST_WEBHOOK_{Guid.NewGuid():N}";

    public FlakeLedgerTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("remotes", "puppet-demo");
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Service_AStepThatFailsOnlyOnTheFirstAttempt_IsFlaky_ThenTheSameFailureEveryTimeIsKnownFlaky()
    {
        string once = GitRepositories.Create(_repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {\n  file { '/etc/demo.conf': ensure => file, content => 'converged' }\n}\n",
            ["flake-mode"] = "once\n",
        });
        await using WebhookReceiver webhook = await WebhookReceiver.StartAsync("the-receivers-secret");
        Environment.SetEnvironmentVariable(_secretVariable, webhook.Secret);
        string configFile = WriteConfig(webhook.Url);
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        WebApplication app = ServiceHost.Build(loaded.Settings!, ConfigurationLoader.BuildConfiguration(configFile));
        await app.StartAsync();
        try
        {
            // Given a run at the commit whose step fails only on a cell's first attempt
            RunDetail first = await RunAsync(app, once);

            // Then the cell ran twice on one lockfile: a failure with its signature, then a re-run that passed, so flaky
            List<JobRecord> attempts = first.Jobs.OrderBy(j => j.Attempt).ToList();
            Assert.Equal([(1, JobResult.Failure), (2, JobResult.Flaky)], attempts.Select(j => (j.Attempt, j.Result!.Value)));
            Assert.Equal((attempts[0].Id, attempts[0].Id), (attempts[1].RerunOf!.Value, attempts[1].RetryOf!.Value));
            Assert.Equal([Signature, Signature], attempts.Select(j => j.FailureSignature));
            Assert.StartsWith($"flaky: job {attempts[0].Id} failed ({Signature})", attempts[1].Summary, StringComparison.Ordinal);
            Assert.Equal(JobResult.Flaky, first.Run.Result);
            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            JobLockfile failedLock = (await jobs.GetLockfileAsync(attempts[0].Id, CancellationToken.None))!;
            JobLockfile rerunLock = (await jobs.GetLockfileAsync(attempts[1].Id, CancellationToken.None))!;
            Assert.Equal(failedLock.ImageId, rerunLock.ImageId);
            Assert.Equal(failedLock.Modules.Select(m => (m.Module, m.CommitSha)), rerunLock.Modules.Select(m => (m.Module, m.CommitSha)));
            Assert.Equal(failedLock.Files.Select(f => f.Hash), rerunLock.Files.Select(f => f.Hash));

            // And the webhook, JUnit, the API, the dashboard and cirunner flakes all say flaky
            JsonElement cell = await CellOfWebhookAsync(webhook, first.Run.Id);
            Assert.Equal(("flaky", "flaky", Signature), (cell.GetProperty("result").GetString(), cell.GetProperty("flake").GetProperty("classification").GetString(), cell.GetProperty("flake").GetProperty("signature").GetString()));
            XElement testCase = await JUnitCaseAsync(loaded.Settings!.DataPaths.JUnitFile(first.Run.Id));
            Assert.Null(testCase.Element("failure"));
            Assert.StartsWith($"flaky: job {attempts[0].Id} failed with signature {Signature}", testCase.Element("system-out")!.Value, StringComparison.Ordinal);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
            using JsonDocument ledger = JsonDocument.Parse(await http.GetStringAsync("/api/flakes"));
            JsonElement entry = ledger.RootElement.GetProperty("entries").EnumerateArray().Single();
            Assert.Equal((Cell, Signature, 1, 1, 0), (entry.GetProperty("cellKey").GetString(), entry.GetProperty("signature").GetString(), entry.GetProperty("runs").GetInt32(), entry.GetProperty("flaky").GetInt32(), entry.GetProperty("failed").GetInt32()));
            string dashboard = WebUtility.HtmlDecode(await http.GetStringAsync("/"));
            Assert.Contains($"<tr data-cell=\"{Cell}\">", dashboard, StringComparison.Ordinal);
            Assert.Contains("1 of the last 1 run", dashboard, StringComparison.Ordinal);
            Assert.Contains(Signature, await FlakesCliAsync(configFile), StringComparison.Ordinal);

            // When a commit makes the same step fail on every attempt
            string always = GitRepositories.Commit(_repository, new Dictionary<string, string> { ["flake-mode"] = "always\n" }, "fail every time");
            RunDetail second = await RunAsync(app, always);

            // Then the failure stands after its re-run, and reports call it known flaky: 1 of the cell's last 2 runs flaked with it
            Assert.Equal([JobResult.Failure, JobResult.Failure], second.Jobs.OrderBy(j => j.Attempt).Select(j => j.Result!.Value));
            Assert.Equal(JobResult.Failure, second.Run.Result);
            cell = await CellOfWebhookAsync(webhook, second.Run.Id);
            Assert.Equal(("failure", "knownflaky", 1, 2), (cell.GetProperty("result").GetString(), cell.GetProperty("flake").GetProperty("classification").GetString(), cell.GetProperty("flake").GetProperty("flakyRuns").GetInt32(), cell.GetProperty("flake").GetProperty("runs").GetInt32()));
            Assert.Equal($"known flaky: 1 of the last 2 runs, signature {Signature}", cell.GetProperty("flake").GetProperty("description").GetString());
            testCase = await JUnitCaseAsync(loaded.Settings.DataPaths.JUnitFile(second.Run.Id));
            Assert.StartsWith("known flaky: 1 of the last 2 runs", (string?)testCase.Element("failure")!.Attribute("message"), StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Environment.SetEnvironmentVariable(_secretVariable, null);
        }

        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
    }

    private static async Task<RunDetail> RunAsync(WebApplication app, string commit)
    {
        RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
            .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", commit, RequestedBy: "test"), CancellationToken.None);
        RunStore runs = app.Services.GetRequiredService<RunStore>();
        await RunWaits.ForRunAsync(runs, run.Run.Id);
        return (await runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!;
    }

    private static async Task<JsonElement> CellOfWebhookAsync(WebhookReceiver webhook, long runId)
    {
        JsonElement body = default;
        await Eventually.TrueAsync($"the webhook of run {runId}", () =>
        {
            foreach (WebhookDelivery delivery in webhook.Deliveries)
            {
                using JsonDocument document = JsonDocument.Parse(delivery.Body);
                if (document.RootElement.GetProperty("runId").GetInt64() == runId)
                {
                    body = document.RootElement.Clone();
                    return Task.FromResult(true);
                }
            }

            return Task.FromResult(false);
        }, TimeSpan.FromSeconds(30));
        return body.GetProperty("cells").EnumerateArray().Single();
    }

    /// <summary>The run's one JUnit test case; the reporter writes the file after the run has finished, beside the webhook.</summary>
    private static async Task<XElement> JUnitCaseAsync(string file)
    {
        await Eventually.TrueAsync($"the JUnit file {file}", () => Task.FromResult(File.Exists(file)), TimeSpan.FromSeconds(30));
        return XDocument.Load(file).Descendants("testcase").Single();
    }

    private static async Task<string> FlakesCliAsync(string configFile)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.Build()
            .Parse(["flakes", "--config", configFile, "--module", "demo"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        Assert.True(exitCode == 0, error.ToString());
        return output.ToString();
    }

    private string WriteConfig(Uri webhook)
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/flip.pp", "include demo\n");

        // Passes only on a second attempt, and only while the module says "once".
        _folder.Write("scenarios/flip.yaml", """
            name: flip
            manifest: flip.pp
            modules: [demo]
            steps:
              - apply
              - type: command
                name: flip
                command: [/bin/sh, -c, 'test "$(cat /cirunner/modules/demo/flake-mode)" = once && test "$CIRUNNER_ATTEMPT" -ge 2']

            """);
        return new TestConfiguration()
            .Set("Service:InstanceId", _instanceId)
            .Set("Service:DataDirectory", "data")
            .Set("Service:ScenariosDirectory", "scenarios")
            .AddModule("demo", _repository, "master")
            .AddRelease("zed", _engine.PuppetImage, "master")
            .Set("Docker:Endpoint", _engine.Endpoint)
            .Set("Docker:MemoryMb", 512)
            .Set("Http:Listen", $"http://127.0.0.1:{_port}")
            .Set("Bisect:Enabled", false)
            .Set("Reporting:Webhooks:0:Name", "flakes")
            .Set("Reporting:Webhooks:0:Url", webhook)
            .Set("Reporting:Webhooks:0:SecretVariable", _secretVariable)
            .WriteTo(_folder.Combine("appsettings.json"));
    }
}
