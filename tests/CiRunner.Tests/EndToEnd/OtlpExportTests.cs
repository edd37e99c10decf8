using CiRunner.Telemetry;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class DockerOtlpGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-otlp";
}

/// <summary>
/// The real <c>cirunner serve</c> process, configured only through the standard <c>OTEL_*</c> variables as an
/// operator would, runs real jobs on the engine and pushes what it records over OTLP/HTTP: metrics into a real
/// OTLP metrics receiver, Debian 13's VictoriaMetrics, read back with PromQL (nothing scrapes it, so every series
/// there came over OTLP), and traces to a loopback OTLP/HTTP endpoint that reads the protobuf itself.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerOtlpGroup.Name)]
public sealed class OtlpExportTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
    private readonly ITestOutputHelper _output;
    private readonly ServiceFolder _service;

    public OtlpExportTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _output = output;
        _service = new ServiceFolder(engine.PuppetImage, engine.Endpoint);
        _service.Configuration.Set("Schedule:PollInterval", "1h");

        // One failing job, not a failure and its flake re-run: the counts below are per job.
        _service.Configuration.Set("Flakes:Reruns", 0);
    }

    public void Dispose() => _service.Dispose();

    [Fact]
    public async Task OtlpEndpoint_OtlpMetricsReceiver_GetsTheJobsFinishedPerCellAndResultWithTheInstance()
    {
        // Given an OTLP metrics receiver that answers PromQL, and the service pointed at it the way the README says
        await using OtlpMetricsReceiver receiver = OtlpMetricsReceiver.Start();
        _service.AddCommandScenario("converges", "true");
        _service.AddCommandScenario("fails", "false");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.OtlpEndpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // The default is a minute; a second keeps the test short.
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        };

        // When a run of both cells finishes
        await using ServiceProcess process = ServiceProcess.Start(_service, _output, environment);
        await process.WaitForHealthAsync(_service.BaseUrl);
        await _service.TriggerAsync();
        IReadOnlyList<(Dictionary<string, string> Labels, string Value)> finished = await Eventually.LastValueAsync(
            () => receiver.QueryAsync("cirunner_jobs_finished_total{module=\"demo\"}"),
            series => series.Count >= 2,
            Bound,
            TimeSpan.FromMilliseconds(500));
        IReadOnlyList<(Dictionary<string, string> Labels, string Value)> durations = await receiver.QueryAsync("cirunner_job_duration_seconds_count{module=\"demo\"}");

        // Then the receiver holds one counter series per cell and result, each at 1, under the name and labels the
        // scraped /metrics has, and the OTLP resource's attributes became labels: which service, which instance
        Assert.True(finished.Count == 2, $"the receiver holds {finished.Count} cirunner_jobs_finished_total series of module demo; its errors:\n{receiver.Errors}");
        (Dictionary<string, string> passed, string passedValue) = Assert.Single(finished, s => s.Labels["scenario"] == "converges");
        (Dictionary<string, string> failed, string failedValue) = Assert.Single(finished, s => s.Labels["scenario"] == "fails");
        Assert.Equal(("success", "1"), (passed["result"], passedValue));
        Assert.Equal(("failure", "1"), (failed["result"], failedValue));
        foreach (Dictionary<string, string> labels in new[] { passed, failed })
        {
            Assert.Equal(("master", "zed", "deploy"), (labels["branch"], labels["release"], labels["kind"]));
            Assert.Equal(("cirunner", _service.InstanceId), (labels["service_name"], labels["service_instance_id"]));
        }

        // And the job duration histogram came along, one observation per cell
        Assert.Equal(["1", "1"], durations.Select(d => d.Value));
    }

    [Fact]
    public async Task OtlpEndpoint_HttpProtobuf_PostsTheRunJobAndStepSpansAsOneTraceOfTheCiRunnerService()
    {
        // Given a loopback OTLP/HTTP endpoint, and the service pointed at it as at a collector
        await using OtlpHttpReceiver receiver = await OtlpHttpReceiver.StartAsync();
        _service.AddCommandScenario("converges", "true");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // The batch processors' default delay is 5 s and the metric interval a minute; shorter keeps the test short.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "500",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        };

        // When a run of the cell finishes
        await using ServiceProcess process = ServiceProcess.Start(_service, _output, environment);
        await process.WaitForHealthAsync(_service.BaseUrl);
        long runId = await _service.TriggerAsync();
        List<OtlpScopeSpans> received = await Eventually.LastValueAsync(
            () => Task.FromResult(receiver.Requests.Where(r => r.Path == "/v1/traces").SelectMany(r => OtlpTraceRequest.Parse(r.Body)).ToList()),
            // The job's span ends after its step's, and may come in a later batch.
            scopes => scopes.SelectMany(s => s.Spans).Count(s => s.Name is "step converges" or "job zed/converges") == 2 && receiver.Requests.Any(r => r.Path == "/v1/logs"),
            Bound,
            TimeSpan.FromMilliseconds(200));

        // Then every export was an OTLP/HTTP protobuf POST to its signal's path under the endpoint: traces, and
        // beside them the metrics and the service's log lines
        IReadOnlyList<OtlpRequest> requests = receiver.Requests;
        string seen = string.Join(", ", requests.Select(r => $"{r.Method} {r.Path} {r.ContentType}").Distinct());
        Assert.True(requests.Any(r => r.Path.EndsWith("/traces", StringComparison.Ordinal)), $"no trace export arrived; requests: {seen}");
        Assert.All(requests, r => Assert.Equal(("POST", "application/x-protobuf"), (r.Method, r.ContentType)));
        Assert.Equal(["/v1/logs", "/v1/metrics", "/v1/traces"], requests.Select(r => r.Path).Distinct().Order(StringComparer.Ordinal));

        // And CiRunner's spans come from its ActivitySource, under the resource naming the service and this instance
        List<OtlpScopeSpans> ciRunner = received.Where(s => s.Scope == CiRunnerTelemetry.ActivitySourceName).ToList();
        Assert.NotEmpty(ciRunner);
        Assert.All(ciRunner, s => Assert.Equal(("cirunner", _service.InstanceId), (s.Resource["service.name"], s.Resource["service.instance.id"])));

        // And the run is one trace: the root span run, the job under it, the step under the job
        List<OtlpSpan> spans = ciRunner.SelectMany(s => s.Spans).ToList();
        string run = runId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        OtlpSpan root = Assert.Single(spans, s => s.Name == "run" && s.Attributes.GetValueOrDefault("cirunner.run.id") == run);
        OtlpSpan job = Assert.Single(spans, s => s.Name == "job zed/converges");
        OtlpSpan step = Assert.Single(spans, s => s.Name == "step converges");
        Assert.Equal("", root.ParentSpanId);
        Assert.Equal((root.TraceId, root.TraceId), (job.TraceId, step.TraceId));
        Assert.Equal((root.SpanId, job.SpanId), (job.ParentSpanId, step.ParentSpanId));
        Assert.Equal(32, root.TraceId.Length);
        Assert.Equal(("demo", "manual"), (root.Attributes["cirunner.module"], root.Attributes["cirunner.cause"]));
        Assert.Equal(("zed/converges", "success"), (job.Attributes["cirunner.cell"], job.Attributes["cirunner.job.result"]));
        Assert.Equal("success", step.Attributes["cirunner.step.result"]);
    }
}
