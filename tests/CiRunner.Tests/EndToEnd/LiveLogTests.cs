using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class DockerLiveLogGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-live-log";
}

/// <summary>
/// The live log of a job running on the real engine, in the real service: its step prints a line, sleeps, prints
/// another. The stream (read by HttpClient), <c>cirunner logs --follow</c> and the job page in Debian's chromium
/// each get the first line while the job still runs, and the end with its result.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerLiveLogGroup.Name)]
public sealed class LiveLogTests : IDisposable
{
    private readonly DockerEngineFixture _engine;
    private readonly ServiceFolder _service;

    public LiveLogTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _service = new ServiceFolder(engine.PuppetImage, engine.Endpoint);

        // The sleep after the second line keeps the job running while the page shows it, before the end reloads it.
        _service.AddCommandScenario("slow-echo", "sh", "-c", "echo first line; sleep 8; echo second line; sleep 4");
        _service.Configuration.Set("Schedule:PollInterval", "1h");
    }

    public void Dispose() => _service.Dispose();

    [Fact]
    public async Task StreamAndLogsFollow_JobOnTheEngine_FirstLineArrivesWhileItRunsThenTheWholeLogAndItsResult()
    {
        await using WebApplication host = _service.BuildHost();
        await host.StartAsync();
        long job = await StartJobAsync(host);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        // Given: logs --follow and the stream both start while the job is queued or starting
        var followOutput = new StringWriter();
        var followError = new StringWriter();
        Task<int> following = InProcessServe.InvokeAsync(
            ["logs", "--follow", job.ToString(CultureInfo.InvariantCulture), "--config", _service.ConfigFile], followOutput, followError, timeout.Token);
        using var client = new HttpClient { BaseAddress = _service.BaseUrl, Timeout = TimeSpan.FromMinutes(3) };
        using HttpResponseMessage response = await client.GetAsync(new Uri($"api/jobs/{job}/log/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using IAsyncEnumerator<SseItem<string>> events = SseParser.Create(await response.Content.ReadAsStreamAsync(timeout.Token)).EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);

        // When the first line comes, the job's state is read through the API at that moment; then the stream is read to its end
        var received = new List<SseItem<string>>();
        string? stateAtFirstLine = null;
        while (await events.MoveNextAsync())
        {
            received.Add(events.Current);
            if (stateAtFirstLine is null && events.Current.Data.EndsWith(" out first line", StringComparison.Ordinal))
            {
                using JsonDocument detail = JsonDocument.Parse(await client.GetStringAsync(new Uri($"api/jobs/{job}", UriKind.Relative), timeout.Token));
                stateAtFirstLine = detail.RootElement.GetProperty("job").GetProperty("state").GetString();
            }
        }

        int followExit = await following.WaitAsync(timeout.Token);
        JobRecord finished = (await host.Services.GetRequiredService<JobStore>().GetAsync(job, CancellationToken.None))!;
        string log = await File.ReadAllTextAsync(host.Services.GetRequiredService<CiRunner.Web.JobLogs>().PathOf(finished)!);

        // Then the first line came while the job ran, the step's header as a step event, and the end with the result
        Assert.Equal("running", stateAtFirstLine);
        Assert.Contains(received, e => e.EventType == "step" && e.Data.Contains("slow-echo (command, timeout", StringComparison.Ordinal));
        SseItem<string> end = received[^1];
        Assert.Equal("end", end.EventType);
        using (JsonDocument result = JsonDocument.Parse(end.Data))
        {
            Assert.Equal("success", result.RootElement.GetProperty("result").GetString());
        }

        // The stream and logs --follow each gave the whole log, once
        Assert.Equal(JobResult.Success, finished.Result);
        Assert.Equal(log, string.Concat(received.SkipLast(1).Select(e => e.Data + "\n")));
        Assert.Equal((0, log), (followExit, followOutput.ToString()));
        Assert.Empty(await _engine.ContainersLeftAsync(_service.InstanceId));
    }

    [Fact]
    public async Task JobPage_InChromiumWhileTheJobRuns_ShowsTheNextLineWithoutAReloadThenReloadsWithTheResult()
    {
        await using WebApplication host = _service.BuildHost();
        await host.StartAsync();
        long job = await StartJobAsync(host);
        JobStore jobs = host.Services.GetRequiredService<JobStore>();
        await Eventually.TrueAsync(
            $"job {job} to start its container",
            async () => (await jobs.GetAsync(job, CancellationToken.None))!.State == JobState.Running,
            TimeSpan.FromMinutes(2));

        // Playwright's default viewport: the page's size is not what this test looks at.
        await using BrowserSession browser = await BrowserSession.StartAsync(1280, 720);
        IPage page = browser.Page;
        await page.GotoAsync($"{_service.BaseUrl}jobs/{job}");
        int reloads = 0;
        page.FrameNavigated += (_, frame) => reloads += frame == page.MainFrame ? 1 : 0;

        // The second line is written seconds after the page loaded: the script appends it (a span) to the log
        await page.Locator("#log span", new PageLocatorOptions { HasTextString = "out second line" }).WaitForAsync();
        int reloadsBeforeTheEnd = reloads;
        string live = await page.Locator("#log-live").InnerTextAsync();
        await page.Locator("#job-result.result-success").WaitForAsync();

        Assert.Equal(0, reloadsBeforeTheEnd);
        Assert.Equal("Live: lines appear as the job writes them.", live);
        Assert.Equal(1, await page.Locator("#log .step", new PageLocatorOptions { HasTextString = "slow-echo (command, timeout" }).CountAsync());
        Assert.Contains("out second line", await page.Locator("#log").InnerTextAsync(), StringComparison.Ordinal);
    }

    /// <summary>A manual run of the one scenario, as the API makes it; its job's id.</summary>
    private static async Task<long> StartJobAsync(WebApplication host)
    {
        ManualRunOutcome manual = await host.Services.GetRequiredService<ManualTrigger>()
            .StartAsync(new ManualRunRequest("demo", "master", null, "test"), CancellationToken.None);
        RunDetail run = manual.Run ?? throw new InvalidOperationException(manual.Message);
        return Assert.Single(run.Jobs).Id;
    }
}
