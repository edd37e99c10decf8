using System.Net;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Faults;

/// <summary>
/// Scenario files edited while the real service runs: a broken file is rejected with its error on the API, the pages
/// and the health check, and runs keep using its last good definition; fixing it, adding a file and deleting one take
/// effect for the next run.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerResilienceGroup.Name)]
public sealed class ScenarioReloadTests : IAsyncLifetime
{
    private readonly DockerEngineFixture _engine;
    private readonly ServiceUnderTest _service;

    public ScenarioReloadTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _service = new ServiceUnderTest(engine, output);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task ScenarioFileBrokenThenFixed_ErrorShownAndPreviousDefinitionRuns_ThenTheNewOneRuns()
    {
        await _service.StartAsync();
        using HttpClient client = _service.Client();

        // Broken: an unknown step type on line 5. Only the file watcher reads the directory until the log says so.
        _service.Folder.Write("scenarios/quick.yaml", ServiceUnderTest.QuickScenario.Replace("  - type: command", "  - type: reboot", StringComparison.Ordinal));
        await _service.Logs.WaitForAsync("the broken file to be rejected", l => l.Category == typeof(ScenarioCatalog).FullName && l.Level == LogLevel.Warning);
        JsonElement scenarios = await GetJsonAsync(client, "/api/scenarios");
        string scenariosPage = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri("/scenarios", UriKind.Relative)));
        string matrixPage = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri("/", UriKind.Relative)));
        JsonElement health = await GetJsonAsync(client, "/healthz");
        RunDetail broken = await RunAsync(client);

        string message = "scenarios/quick.yaml: line 5, steps[0].type: 'reboot' is not valid; expected";
        Assert.Contains(message, Assert.Single(scenarios.GetProperty("errors").EnumerateArray()).GetProperty("message").GetString(), StringComparison.Ordinal);
        JsonElement kept = Assert.Single(scenarios.GetProperty("scenarios").EnumerateArray());
        Assert.True(kept.GetProperty("previousDefinitionKept").GetBoolean());
        Assert.Equal(["marker"], kept.GetProperty("steps").EnumerateArray().Select(s => s.GetString()));
        Assert.Contains(message, scenariosPage, StringComparison.Ordinal);
        Assert.Contains("previous definitions of quick stay in use", matrixPage, StringComparison.Ordinal);
        Assert.StartsWith("warning: 1 problem(s) in scenario files", health.GetProperty("scenarios").GetString(), StringComparison.Ordinal);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(["marker"], await StepNamesAsync(Assert.Single(broken.Jobs).Id));
        Assert.Contains("quick-v1", await LogAsync(client, Assert.Single(broken.Jobs).Id), StringComparison.Ordinal);

        // Fixed with a new definition, and a new file, in the same moment the run is asked for: no watcher needed.
        _service.Folder.Write("scenarios/quick.yaml", ServiceUnderTest.QuickScenario.Replace("name: marker", "name: marker-v2", StringComparison.Ordinal).Replace("quick-v1", "quick-v2", StringComparison.Ordinal));
        _service.Folder.Write("scenarios/extra.yaml", "name: extra\nmanifest: quick.pp\nmodules: [demo]\nsteps:\n  - type: command\n    name: extra\n    command: [echo, extra-v1]\n");
        RunDetail fixedRun = await RunAsync(client);
        JsonElement afterFix = await GetJsonAsync(client, "/api/scenarios");

        JobRecord quick = Assert.Single(fixedRun.Jobs, j => j.Scenario == "quick");
        Assert.Equal(["extra", "quick"], fixedRun.Jobs.Select(j => j.Scenario).Order(StringComparer.Ordinal));
        Assert.Equal(["marker-v2"], await StepNamesAsync(quick.Id));
        Assert.Contains("quick-v2", await LogAsync(client, quick.Id), StringComparison.Ordinal);
        Assert.Empty(afterFix.GetProperty("errors").EnumerateArray());
        Assert.Contains(_service.Logs.Entries, l => l.Category == typeof(ScenarioCatalog).FullName && l.Message.Contains("all valid again", StringComparison.Ordinal));

        // Deleted: its scenario is gone from the next run.
        File.Delete(_service.Folder.Combine("scenarios", "extra.yaml"));
        RunDetail afterDelete = await RunAsync(client);

        Assert.Equal(["quick"], afterDelete.Jobs.Select(j => j.Scenario));
        Assert.All([broken, fixedRun, afterDelete], run => Assert.All(run.Jobs, job => Assert.Equal(JobResult.Success, job.Result)));
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
    }

    /// <summary>Triggers a run through the API and returns it once it finished.</summary>
    private async Task<RunDetail> RunAsync(HttpClient client)
    {
        using HttpResponseMessage created = await ServiceUnderTest.TriggerAsync(client);
        string body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, body);
        long runId = JsonDocument.Parse(body).RootElement.GetProperty("runId").GetInt64();
        await _service.WaitForRunAsync(runId);
        return (await _service.Get<RunStore>().GetDetailAsync(runId, CancellationToken.None))!;
    }

    private async Task<IReadOnlyList<string>> StepNamesAsync(long jobId) =>
        (await _service.Get<JobStore>().GetDetailAsync(jobId, CancellationToken.None))!.Steps.Select(s => s.Name).ToList();

    private static Task<string> LogAsync(HttpClient client, long jobId) =>
        client.GetStringAsync(new Uri($"/api/jobs/{jobId}/log", UriKind.Relative));

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
