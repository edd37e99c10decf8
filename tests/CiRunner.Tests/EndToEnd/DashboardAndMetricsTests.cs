using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CiRunner.Results;
using CiRunner.Telemetry;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// The service after a real run with a passing and a failing cell, seen from outside: a real Prometheus scraping
/// <c>/metrics</c>, the dashboard in Debian's headless chromium, and the JSON API with its token rules.
/// </summary>
[Trait("Category", "Docker")]
public sealed class DashboardAndMetricsTests : IClassFixture<ObservedService>
{
    private readonly ObservedService _service;
    private readonly ITestOutputHelper _output;

    public DashboardAndMetricsTests(ObservedService service, ITestOutputHelper output)
    {
        _service = service;
        _output = output;
    }

    [Fact]
    public async Task Prometheus_ScrapesTheService_JobsFinishedCounterCarriesTheCellLabels()
    {
        using var folder = new TempDirectory();
        int prometheusPort = FreePort.Next();
        string config = folder.Write("prometheus.yml", $"""
            global:
              # Generous for a loaded machine: a scrape that times out stores nothing.
              scrape_interval: 2s
              scrape_timeout: 2s
            scrape_configs:
              - job_name: cirunner
                static_configs:
                  - targets: ['127.0.0.1:{_service.Port}']
            """);
        using Process prometheus = StartPrometheus(config, folder.Combine("tsdb"), prometheusPort);
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var query = new Uri($"http://127.0.0.1:{prometheusPort}/api/v1/query?query=cirunner_jobs_finished_total");
            var waited = Stopwatch.StartNew();
            List<Dictionary<string, string>> series = await Eventually.LastValueAsync(
                async () =>
                {
                    try
                    {
                        using JsonDocument answer = JsonDocument.Parse(await client.GetStringAsync(query));
                        return answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
                            .Select(r => r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""))
                            .Where(m => m.GetValueOrDefault("module") == "demo")
                            .ToList();
                    }
                    catch (HttpRequestException)
                    {
                        // Prometheus is still starting.
                        return [];
                    }
                },
                found => found.Count >= 2,
                TimeSpan.FromSeconds(120),
                TimeSpan.FromMilliseconds(500));

            if (series.Count < 2)
            {
                // The target's state (up, last error) says whether scraping or the service failed.
                _output.WriteLine(await client.GetStringAsync(new Uri($"http://127.0.0.1:{prometheusPort}/api/v1/targets")));
            }

            Assert.True(series.Count >= 2, $"Prometheus returned {series.Count} demo series after {waited.Elapsed}");
            Dictionary<string, string> failed = Assert.Single(series, s => s["scenario"] == "fails" && s["result"] == "failure");
            Dictionary<string, string> passed = Assert.Single(series, s => s["scenario"] == "converges" && s["result"] == "success");
            foreach (Dictionary<string, string> labels in new[] { failed, passed })
            {
                Assert.Equal("master", labels["branch"]);
                Assert.Equal("zed", labels["release"]);
                Assert.Equal("deploy", labels["kind"]);
            }
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Grafana_EveryPromQlExpressionOfTheShippedDashboard_RunsOnPrometheusAfterItScrapedTheService()
    {
        // Given the shipped Grafana dashboard's expressions, with its variables as Grafana fills them in for "All"
        using JsonDocument dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "deploy", "grafana", "cirunner.json")));
        List<string> expressions = Expressions(dashboard.RootElement).Distinct(StringComparer.Ordinal).ToList();
        Assert.True(expressions.Count >= 10, $"only {expressions.Count} expressions found");
        static string Fill(string expr) => expr.Replace("$module", ".*", StringComparison.Ordinal).Replace("$branch", ".*", StringComparison.Ordinal)
            .Replace("$window", "1d", StringComparison.Ordinal).Replace("$__rate_interval", "1m", StringComparison.Ordinal);

        // And a real Prometheus that has scraped the service (after the run) at least twice, so rates have two samples
        using var folder = new TempDirectory();
        int prometheusPort = FreePort.Next();
        string config = folder.Write("prometheus.yml", $"""
            global:
              scrape_interval: 2s
              scrape_timeout: 2s
            scrape_configs:
              - job_name: cirunner
                static_configs:
                  - targets: ['127.0.0.1:{_service.Port}']
            """);
        using Process prometheus = StartPrometheus(config, folder.Combine("tsdb"), prometheusPort);
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5), BaseAddress = new Uri($"http://127.0.0.1:{prometheusPort}") };
            async Task<(string Status, string? Error, List<JsonElement> Series)> QueryAsync(string query)
            {
                using JsonDocument answer = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/v1/query?query=" + Uri.EscapeDataString(query), UriKind.Relative)));
                JsonElement root = answer.RootElement;
                return (root.GetProperty("status").GetString()!,
                    root.TryGetProperty("error", out JsonElement error) ? error.GetString() : null,
                    root.TryGetProperty("data", out JsonElement data) ? data.GetProperty("result").EnumerateArray().Select(r => r.Clone()).ToList() : []);
            }

            await Eventually.TrueAsync(
                "Prometheus to scrape the service twice",
                async () =>
                {
                    try
                    {
                        return (await QueryAsync("count_over_time(cirunner_jobs_queued[5m]) >= 2")).Series.Count > 0;
                    }
                    catch (HttpRequestException)
                    {
                        // Prometheus is still starting.
                        return false;
                    }
                },
                TimeSpan.FromSeconds(120),
                interval: TimeSpan.FromMilliseconds(500));

            // When each expression is queried, then Prometheus accepts every one
            var answers = new Dictionary<string, List<JsonElement>>(StringComparer.Ordinal);
            foreach (string expression in expressions)
            {
                (string status, string? error, List<JsonElement> series) = await QueryAsync(Fill(expression));
                Assert.True(status == "success", $"Prometheus refused {expression}: {error}");
                answers[expression] = series;
                _output.WriteLine($"{series.Count} series: {expression.ReplaceLineEndings(" ")}");
            }

            // And the key panels have data: pass rate per release and scenario, the failing cell, durations, queue depth
            // (A scenario that never passed must show 0 %, not vanish; values are NaN here because both counters were
            // already at 1 when Prometheus first saw them, so their increase is 0 / 0.)
            List<List<JsonElement>> passRates = answers.Where(a => a.Key.Contains("result=\"success\"}[$window]))", StringComparison.Ordinal)).Select(a => a.Value).ToList();
            Assert.NotEmpty(passRates);
            Assert.All(passRates, passRate =>
            {
                Assert.Contains(passRate, s => Label(s, "release") == "zed" && Label(s, "scenario") == "fails");
                Assert.Contains(passRate, s => Label(s, "release") == "zed" && Label(s, "scenario") == "converges");
            });
            List<JsonElement> failing = answers.Single(a => a.Key.StartsWith("cirunner_cell_result", StringComparison.Ordinal)).Value;
            Assert.Contains(failing, s => Label(s, "module") == "demo" && Label(s, "cell") == "zed/fails");
            Assert.DoesNotContain(failing, s => Label(s, "cell") == "zed/converges");
            Assert.NotEmpty(answers.Single(a => a.Key.StartsWith("histogram_quantile(0.9, sum by (le, scenario)", StringComparison.Ordinal)).Value);
            Assert.Single(answers["sum(cirunner_jobs_queued)"]);
            Assert.Single(answers["sum(cirunner_jobs_running)"]);

            // And the template variables' label queries find the module and its branch
            foreach ((string label, string expected) in new[] { ("module", "demo"), ("branch", "master") })
            {
                using JsonDocument values = JsonDocument.Parse(await client.GetStringAsync(
                    new Uri($"/api/v1/label/{label}/values?match[]=cirunner_jobs_finished_total", UriKind.Relative)));
                Assert.Contains(expected, values.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetString()));
            }
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    private static IEnumerable<string> Expressions(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in element.EnumerateObject())
            {
                if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                {
                    yield return property.Value.GetString()!;
                }
                else
                {
                    foreach (string nested in Expressions(property.Value))
                    {
                        yield return nested;
                    }
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (string nested in element.EnumerateArray().SelectMany(Expressions))
            {
                yield return nested;
            }
        }
    }

    private static string? Label(JsonElement series, string name) =>
        series.GetProperty("metric").TryGetProperty(name, out JsonElement value) ? value.GetString() : null;

    [Fact]
    public void Traces_OfTheRun_ARecordedRootSpanWithTheJobsAsChildrenAndStepsUnderTheirJob()
    {
        // The run's root span: recorded (so exported), a root (no parent), and the traceparent the run stored
        // Other services of this test process also have a run 1: the instance tag tells this one's apart.
        Activity root = Assert.Single(_service.Activities, a => a.DisplayName == "run" && Equals(a.GetTagItem("cirunner.run.id"), _service.Run.Run.Id)
            && a.GetTagItem("cirunner.instance") as string == _service.ServiceInstanceId && a.Source.Name == CiRunnerTelemetry.ActivitySourceName);
        Assert.True(root.Recorded);
        Assert.Equal(default, root.ParentSpanId);
        Assert.Equal(root.Id, _service.Run.Run.TraceParent);
        Assert.Equal(("manual", 2), (root.GetTagItem("cirunner.cause"), root.GetTagItem("cirunner.jobs")));

        List<Activity> ofRun = _service.Activities.Where(a => a.TraceId == root.TraceId).ToList();
        Activity failingJob = Assert.Single(ofRun, a => a.DisplayName == "job zed/fails");
        Activity passingJob = Assert.Single(ofRun, a => a.DisplayName == "job zed/converges");
        List<Activity> passingSteps = ofRun.Where(a => a.ParentSpanId == passingJob.SpanId).ToList();

        Assert.Equal((root.SpanId, root.SpanId), (failingJob.ParentSpanId, passingJob.ParentSpanId));
        Assert.Equal(ActivityStatusCode.Error, failingJob.Status);
        Assert.Equal(["step apply", "step idempotency"], passingSteps.OrderBy(a => a.StartTimeUtc).Select(a => a.DisplayName));
        Assert.All(passingSteps, step => Assert.Equal("success", step.GetTagItem("cirunner.step.result")));
        Assert.All(ofRun, span => Assert.True(span == root || ofRun.Any(parent => parent.SpanId == span.ParentSpanId), $"{span.DisplayName} has no parent in the trace"));
    }

    [Fact]
    public async Task Metrics_AfterTheRun_ExposesDurationsCellResultsAndRuntime()
    {
        using var client = new HttpClient { BaseAddress = _service.BaseUrl };

        string text = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));

        Assert.Contains("cirunner_job_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("cirunner_step_duration_seconds_count{", text, StringComparison.Ordinal);
        Assert.Contains("cirunner_cell_result{", text, StringComparison.Ordinal);
        Assert.Contains("cirunner_jobs_running", text, StringComparison.Ordinal);
        Assert.Contains("cirunner_jobs_queued", text, StringComparison.Ordinal);
        Assert.Contains("process_", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_", text, StringComparison.Ordinal);

        // The shipped Grafana dashboard plots job, step, cell and queue metrics under the names the service exposes.
        string dashboard = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "deploy", "grafana", "cirunner.json"));
        using JsonDocument parsed = JsonDocument.Parse(dashboard);
        List<string> plotted = System.Text.RegularExpressions.Regex.Matches(dashboard, "cirunner_(?:job|step|cell|jobs)_[a-z_]+")
            .Select(m => m.Value).Distinct(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(plotted);
        Assert.All(plotted, name => Assert.Contains(name, text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dashboard_InChromium_ShowsFailingAndPassingCellsApartAndLeadsToTheFailureLog()
    {
        await using BrowserSession browser = await BrowserSession.StartAsync(1280, 900);
        IPage page = browser.Page;

        await page.GotoAsync(_service.BaseUrl.ToString());
        ILocator failing = page.Locator("td.cell[data-cell='zed/fails']");
        ILocator passing = page.Locator("td.cell[data-cell='zed/converges']");
        string failingClass = await failing.GetAttributeAsync("class") ?? "";
        string passingClass = await passing.GetAttributeAsync("class") ?? "";
        string failingText = await failing.InnerTextAsync();
        string passingText = await passing.InnerTextAsync();

        Assert.Contains("result-failure", failingClass, StringComparison.Ordinal);
        Assert.Contains("result-success", passingClass, StringComparison.Ordinal);
        Assert.Contains("✗", failingText, StringComparison.Ordinal);
        Assert.Contains("failed", failingText, StringComparison.Ordinal);
        Assert.Contains("✓", passingText, StringComparison.Ordinal);
        Assert.DoesNotContain("✓", failingText, StringComparison.Ordinal);

        await page.NavigateByAsync(() => failing.Locator("a.job").ClickAsync(), $"**/jobs/{_service.FailingJob.Id}");
        string log = await page.Locator("#log").InnerTextAsync();
        Assert.Contains(ObservedService.FailureText, log, StringComparison.Ordinal);
        string result = await page.Locator("#job-result").InnerTextAsync();
        Assert.StartsWith("✗failed: step 'apply'", result, StringComparison.Ordinal);

        // Phone width: the grid scrolls inside its box instead of widening the page.
        await page.SetViewportSizeAsync(390, 800);
        await page.GotoAsync(_service.BaseUrl.ToString());
        int pageWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(pageWidth <= 400, $"the page is {pageWidth} px wide at phone width");
    }

    [Fact]
    public async Task Api_ReadsAreOpen_AndAnswerRunsJobsCellsQueueAndLogs()
    {
        using var client = new HttpClient { BaseAddress = _service.BaseUrl };

        using JsonDocument runs = JsonDocument.Parse(await client.GetStringAsync(new Uri("api/runs", UriKind.Relative)));
        using JsonDocument run = JsonDocument.Parse(await client.GetStringAsync(new Uri($"api/runs/{_service.Run.Run.Id}", UriKind.Relative)));
        using JsonDocument job = JsonDocument.Parse(await client.GetStringAsync(new Uri($"api/jobs/{_service.FailingJob.Id}", UriKind.Relative)));
        using JsonDocument cells = JsonDocument.Parse(await client.GetStringAsync(new Uri("api/cells?module=demo&branch=master", UriKind.Relative)));
        using JsonDocument queue = JsonDocument.Parse(await client.GetStringAsync(new Uri("api/queue", UriKind.Relative)));
        string apiLog = await client.GetStringAsync(new Uri($"api/jobs/{_service.FailingJob.Id}/log", UriKind.Relative));
        string pageLog = await client.GetStringAsync(new Uri($"jobs/{_service.FailingJob.Id}/log", UriKind.Relative));
        using HttpResponseMessage missingLog = await client.GetAsync(new Uri("api/jobs/987654321/log", UriKind.Relative));
        using HttpResponseMessage health = await client.GetAsync(new Uri("healthz", UriKind.Relative));
        using JsonDocument healthBody = JsonDocument.Parse(await health.Content.ReadAsStringAsync());

        Assert.Contains(runs.RootElement.EnumerateArray(), r => r.GetProperty("run").GetProperty("id").GetInt64() == _service.Run.Run.Id);
        Assert.Equal("failure", run.RootElement.GetProperty("run").GetProperty("result").GetString());
        Assert.Equal("failure", job.RootElement.GetProperty("job").GetProperty("result").GetString());
        Assert.Equal(["zed/converges", "zed/fails"], cells.RootElement.EnumerateArray().Select(c => c.GetProperty("cellKey").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.Array, queue.RootElement.ValueKind);
        Assert.Contains(ObservedService.FailureText, apiLog, StringComparison.Ordinal);
        Assert.Equal(apiLog, pageLog);
        Assert.Equal(HttpStatusCode.NotFound, missingLog.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", healthBody.RootElement.GetProperty("docker").GetString());
        Assert.Equal("ok", healthBody.RootElement.GetProperty("dispatcher").GetString());
    }

    [Fact]
    public async Task Api_WritesWithoutOrWithAWrongToken_Answer401()
    {
        using var client = new HttpClient { BaseAddress = _service.BaseUrl };
        long runId = _service.Run.Run.Id;

        using HttpResponseMessage none = await client.PostAsync(new Uri($"api/runs/{runId}/cancel", UriKind.Relative), null);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, new Uri($"api/jobs/{_service.FailingJob.Id}/rerun", UriKind.Relative));
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        using HttpResponseMessage wrongAnswer = await client.SendAsync(wrong);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAnswer.StatusCode);
        Assert.Equal("Bearer", wrongAnswer.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Api_RerunThenCancel_QueuesTheCellAgainAndEndsItCancelled()
    {
        using var client = new HttpClient { BaseAddress = _service.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _service.Token);

        using HttpResponseMessage rerun = await client.PostAsync(new Uri($"api/jobs/{_service.FailingJob.Id}/rerun", UriKind.Relative), null);
        using JsonDocument created = JsonDocument.Parse(await rerun.Content.ReadAsStringAsync());
        long newRun = created.RootElement.GetProperty("runId").GetInt64();
        await WaitForContainerStartedAsync(newRun);
        long rerunJob = (await _service.Services.GetRequiredService<RunStore>().GetDetailAsync(newRun, CancellationToken.None))!.Jobs.Single().Id;
        string runningPage = await client.GetStringAsync(new Uri($"jobs/{rerunJob}", UriKind.Relative));
        using HttpResponseMessage cancel = await client.PostAsync(new Uri($"api/runs/{newRun}/cancel", UriKind.Relative), null);
        using HttpResponseMessage missing = await client.PostAsync(new Uri("api/runs/987654321/cancel", UriKind.Relative), null);
        RunRecord ended = await _service.WaitForRunAsync(newRun);
        using JsonDocument cancelled = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Created, rerun.StatusCode);
        // A void element as the Razor renderer writes it (<meta ... />) or by hand (<meta ...>): the same to a browser.
        Assert.Matches("<meta http-equiv=\"refresh\" content=\"5\" ?/?>", runningPage);
        // The job's own result line, not the bare word: "running" is also in the CSS class .result-running every page inlines.
        Assert.Contains("id=\"job-result\"><span class=\"sym\" aria-hidden=\"true\">▶</span>running", runningPage, StringComparison.Ordinal);
        Assert.Equal(1, created.RootElement.GetProperty("jobs").GetInt32());
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Single(cancelled.RootElement.GetProperty("stoppingRunningJobs").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(JobResult.Cancelled, ended.Result);
        Assert.Empty(await _service.Engine.ContainersLeftAsync(_service.ServiceInstanceId));
    }

    /// <summary>
    /// Waits until the run's job has its container (the image id is stored then), so the cancel below goes through
    /// the dispatcher's hook to a running container rather than racing the container's creation.
    /// </summary>
    private async Task WaitForContainerStartedAsync(long runId)
    {
        RunStore runs = _service.Services.GetRequiredService<RunStore>();
        await Eventually.TrueAsync(
            "the rerun job's container to start",
            async () => (await runs.GetDetailAsync(runId, CancellationToken.None))!.Jobs.Single().ImageId is not null,
            TimeSpan.FromSeconds(60),
            interval: TimeSpan.FromMilliseconds(20));
    }

    private Process StartPrometheus(string configFile, string storage, int port)
    {
        var start = new ProcessStartInfo("/usr/bin/prometheus")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[]
        {
            $"--config.file={configFile}",
            $"--storage.tsdb.path={storage}",
            $"--web.listen-address=127.0.0.1:{port}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.Contains("level=error", StringComparison.Ordinal))
            {
                _output.WriteLine($"prometheus: {line}");
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }
}
