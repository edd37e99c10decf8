using System.Diagnostics.Metrics;
using CiRunner.Execution;
using CiRunner.Telemetry;

namespace CiRunner.Tests.Telemetry;

/// <summary>The instruments as the queue and the dispatcher drive them, read back through a MeterListener.</summary>
public sealed class CiRunnerTelemetryTests : IDisposable
{
    private readonly Meter _meter = new($"CiRunner.Tests.{Guid.NewGuid():N}");
    private readonly MeterListener _listener = new();
    private readonly List<(string Name, long Value, Dictionary<string, string?> Tags)> _measurements = [];
    private readonly CiRunnerTelemetry _telemetry;

    public CiRunnerTelemetryTests()
    {
        _telemetry = new CiRunnerTelemetry(_meter);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == _telemetry.Meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString())));
            }
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public async Task JobQueue_EnqueueDequeueAndRemove_KeepTheQueuedCounterAtTheQueueLength()
    {
        using var queue = new JobQueue(_telemetry);
        queue.Enqueue(new QueuedJob(1, 1, JobPriority.Nightly));
        queue.Enqueue(new QueuedJob(1, 2, JobPriority.Nightly));
        queue.Enqueue(new QueuedJob(2, 3, JobPriority.Manual));

        await queue.DequeueAsync(CancellationToken.None);
        queue.RemoveWhere(job => job.RunId == 1);

        Assert.Equal(queue.Count, Sum("cirunner.jobs.queued"));
        Assert.Equal(0, Sum("cirunner.jobs.queued"));
        Assert.Equal(3, _measurements.Count(m => m.Name == "cirunner.jobs.queued" && m.Value > 0));
    }

    [Fact]
    public async Task EngineReport_PoolWithAnEngineThatDoesNotAnswer_ThatEngineDownWithItsErrorsCountedInCheckInsAndMetrics()
    {
        using var running = new RunningJobs(TimeProvider.System);
        using var queue = new JobQueue(_telemetry);
        CiRunner.Configuration.EngineOptions[] options =
        [
            new() { Name = "east", Endpoint = Fixtures.ConfigFolder.NoEngine, Capacity = 3 },
            new() { Name = "west", Endpoint = Fixtures.ConfigFolder.NoEngine + "-west", Capacity = 1 },
        ];
        EnginePool pool = Fixtures.TestPools.Create(options, queue, running);
        IReadOnlyList<JobEngine> engines = pool.Engines;
        var report = new EngineReport(pool, _telemetry);

        IReadOnlyList<CiRunner.Results.InstanceEngine> before = report.Now();
        bool available = await engines[0].Monitor.IsAvailableAsync(CancellationToken.None);
        engines[0].LetJobDown("the engine closed the attach stream");
        Assert.True(engines[1].TryReserve());
        IReadOnlyList<CiRunner.Results.InstanceEngine> after = report.Now();
        _listener.RecordObservableInstruments();

        Assert.All(before, e => Assert.Equal((true, null, 0L), (e.Up, e.LastError, e.Errors)));
        Assert.False(available);
        Assert.Equal(["east", "west"], after.Select(e => e.Name));
        Assert.Equal((false, "the engine closed the attach stream", 2L, 0), (after[0].Up, after[0].LastError, after[0].Errors, after[0].Running));
        Assert.Equal((true, null, 0L, 1), (after[1].Up, after[1].LastError, after[1].Errors, after[1].Running));
        Assert.Equal((Fixtures.ConfigFolder.NoEngine, 3), (after[0].Endpoint, after[0].Capacity));
        Assert.Equal(
            [("cirunner.engine.capacity", 3L), ("cirunner.engine.errors", 2L), ("cirunner.engine.running", 0L), ("cirunner.engine.up", 0L)],
            _measurements.Where(m => m.Name.StartsWith("cirunner.engine.", StringComparison.Ordinal) && m.Tags["engine"] == "east")
                .Select(m => (m.Name, m.Value)).OrderBy(m => m.Name));
        Assert.Equal(
            [("cirunner.engine.capacity", 1L), ("cirunner.engine.errors", 0L), ("cirunner.engine.running", 1L), ("cirunner.engine.up", 1L)],
            _measurements.Where(m => m.Name.StartsWith("cirunner.engine.", StringComparison.Ordinal) && m.Tags["engine"] == "west")
                .Select(m => (m.Name, m.Value)).OrderBy(m => m.Name));
    }

    [Fact]
    public void JobFinished_CountsOnePerJobWithTheCellLabelsAndLowerCaseResult()
    {
        var labels = new JobLabels("keystone", "stable/2024.1", "2024.1", "scenario001", JobKind.Upgrade);

        _telemetry.JobFinished(labels, JobResult.Timeout, TimeSpan.FromMinutes(3));

        (string _, long value, Dictionary<string, string?> tags) = Assert.Single(_measurements, m => m.Name == "cirunner.jobs.finished");
        Assert.Equal(1, value);
        Assert.Equal("keystone", tags["module"]);
        Assert.Equal("stable/2024.1", tags["branch"]);
        Assert.Equal("2024.1", tags["release"]);
        Assert.Equal("scenario001", tags["scenario"]);
        Assert.Equal("upgrade", tags["kind"]);
        Assert.Equal("timeout", tags["result"]);
    }

    [Fact]
    public void PollFinished_Failed_CountsThePollAndTheErrorButNoCommits()
    {
        _telemetry.PollFinished("glance", TimeSpan.FromSeconds(2), succeeded: false, commitsDetected: 0);
        _telemetry.PollFinished("glance", TimeSpan.FromSeconds(1), succeeded: true, commitsDetected: 2);

        Assert.Equal(2, Sum("cirunner.polls"));
        Assert.Equal(1, Sum("cirunner.poll.errors"));
        Assert.Equal(2, Sum("cirunner.commits.detected"));
        Assert.All(_measurements, m => Assert.Equal("glance", m.Tags["module"]));
    }

    [Fact]
    public void RunContext_SameRun_SameTrace_OtherRunOrInstance_OtherTrace()
    {
        Assert.Equal(CiRunnerTelemetry.RunContext("ci", 42), CiRunnerTelemetry.RunContext("ci", 42));
        Assert.NotEqual(CiRunnerTelemetry.RunContext("ci", 42).TraceId, CiRunnerTelemetry.RunContext("ci", 43).TraceId);
        Assert.NotEqual(CiRunnerTelemetry.RunContext("ci", 42).TraceId, CiRunnerTelemetry.RunContext("other", 42).TraceId);
    }

    [Fact]
    public void ReportSettled_SentHeldAndFailed_CountedByReporterAndState_PendingAndSkippedNot()
    {
        _telemetry.ReportSettled("gerrit", ReportState.Sent);
        _telemetry.ReportSettled("gerrit", ReportState.Held);
        _telemetry.ReportSettled("webhook:chat", ReportState.Failed);
        _telemetry.ReportSettled("webhook:chat", ReportState.Pending);
        _telemetry.ReportSettled("junit", ReportState.Skipped);

        List<(string? Reporter, string? State, long Value)> counted;
        lock (_measurements)
        {
            counted = _measurements.Where(m => m.Name == "cirunner.reports").Select(m => (m.Tags["reporter"], m.Tags["state"], m.Value)).ToList();
        }

        Assert.Equal([("gerrit", "sent", 1), ("gerrit", "held", 1), ("webhook:chat", "failed", 1)], counted);
    }

    private long Sum(string name)
    {
        lock (_measurements)
        {
            return _measurements.Where(m => m.Name == name).Sum(m => m.Value);
        }
    }

    [Fact]
    public void CardinalityLimit_StreamsByCellKeepTheDefault_ByModuleGrowWithTheModules_TheRestAreSmall()
    {
        // Every name the limits list is an instrument the service creates: a misspelt one would keep the default.
        _telemetry.ObserveEngines(() => []);
        var created = new HashSet<string>();
        using var names = new MeterListener { InstrumentPublished = (instrument, _) => { if (instrument.Meter == _meter) { created.Add(instrument.Name); } } };
        names.Start();
        Assert.Subset(created, TelemetryServiceCollectionExtensions.FewValueInstruments.ToHashSet());
        Assert.Subset(created, TelemetryServiceCollectionExtensions.PerModuleInstruments.ToHashSet());

        Assert.Null(TelemetryServiceCollectionExtensions.CardinalityLimit(CiRunnerTelemetry.MeterName, "cirunner.jobs.finished", 50));
        Assert.Null(TelemetryServiceCollectionExtensions.CardinalityLimit(CiRunnerTelemetry.MeterName, "cirunner.cell.result", 50));
        Assert.Equal(200, TelemetryServiceCollectionExtensions.CardinalityLimit(CiRunnerTelemetry.MeterName, "cirunner.engine.up", 50));
        Assert.Equal(200, TelemetryServiceCollectionExtensions.CardinalityLimit("System.Runtime", "dotnet.gc.collections", 50));

        // Each module's polls, and its runs by every cause, fit however many modules the configuration has.
        int causes = Enum.GetValues<RunCause>().Length;
        Assert.Equal(300 * causes, TelemetryServiceCollectionExtensions.CardinalityLimit(CiRunnerTelemetry.MeterName, "cirunner.runs.created", 300));
        Assert.Equal(200, TelemetryServiceCollectionExtensions.CardinalityLimit(CiRunnerTelemetry.MeterName, "cirunner.polls", 5));
    }
}
