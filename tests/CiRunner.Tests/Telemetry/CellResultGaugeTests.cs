using System.Diagnostics.Metrics;
using CiRunner.Results;
using CiRunner.Telemetry;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Telemetry;

/// <summary><c>cirunner.cell.result</c> and <c>cirunner.idempotency.changes</c> from the store, through their cache.</summary>
public sealed class CellResultGaugeTests : IDisposable
{
    private readonly TempDatabase _database = new();
    private readonly Meter _meter = new($"CiRunner.Tests.{Guid.NewGuid():N}");
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, int Value, Dictionary<string, string?> Tags)> _observed = [];

    public void Dispose()
    {
        _listener.Dispose();
        _meter.Dispose();
        _database.Dispose();
    }

    [Fact]
    public async Task Observe_OneFailedCell_IsOneForFailureAndZeroForTheOtherResults_AndCachedUntilInvalidated()
    {
        ResultsStore store = _database.CreateStore();
        var telemetry = new CiRunnerTelemetry(_meter);
        using var gauge = new CellResultGauge(telemetry, store.Cells, _database.Time, NullLogger<CellResultGauge>.Instance);
        Listen(telemetry.Meter);
        await FinishOneJobAsync(store, JobResult.Failure);

        List<(int Value, Dictionary<string, string?> Tags)> first = Observe();
        await FinishOneJobAsync(store, JobResult.Success, release: "2024.2");
        List<(int Value, Dictionary<string, string?> Tags)> cached = Observe();
        gauge.Invalidate();
        List<(int Value, Dictionary<string, string?> Tags)> fresh = await ObserveUntilAsync(values => values.Count > first.Count);

        Assert.Equal(Enum.GetValues<JobResult>().Length, first.Count);
        (int one, Dictionary<string, string?> tags) = Assert.Single(first, m => m.Value == 1);
        Assert.Equal(1, one);
        Assert.Equal("failure", tags["result"]);
        Assert.Equal("2024.1/scenario001", tags["cell"]);
        Assert.Equal("keystone", tags["module"]);
        Assert.Equal(first.Count, cached.Count);
        Assert.Equal(2, fresh.Count(m => m.Value == 1));
    }

    [Fact]
    public async Task ObserveChanges_ACellWhoseLatestResultDrifted_CountsItsChangedPropertiesAndZeroForAConvergedCell()
    {
        // Given a cell whose idempotency step changed two properties in its latest result, and one that converged
        ResultsStore store = _database.CreateStore();
        var telemetry = new CiRunnerTelemetry(_meter);
        using var gauge = new CellResultGauge(telemetry, store.Cells, _database.Time, NullLogger<CellResultGauge>.Instance);
        Listen(telemetry.Meter);
        await FinishOneJobAsync(store, JobResult.Failure, changes: [Samples.Change(), new("File", "/etc/motd", "content", "a", "b", null, null, null)]);
        await FinishOneJobAsync(store, JobResult.Success, release: "2024.2");

        // When the metric is scraped
        List<(int Value, Dictionary<string, string?> Tags)> changes = Observe("cirunner.idempotency.changes");

        // Then each cell has its count, labelled by module, branch and cell
        Assert.Equal(
            [("2024.1/scenario001", 2), ("2024.2/scenario001", 0)],
            changes.Select(m => (m.Tags["cell"], m.Value)).OrderBy(m => m.Item1, StringComparer.Ordinal));
        Assert.All(changes, m => Assert.Equal(("keystone", "stable/2024.1"), (m.Tags["module"], m.Tags["branch"])));
    }

    private static async Task FinishOneJobAsync(ResultsStore store, JobResult result, string release = "2024.1", IReadOnlyList<NewIdempotencyChange>? changes = null)
    {
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(release)], CancellationToken.None);
        await store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
        if (changes is not null)
        {
            StepRecord step = await store.JobProgress.AddStepAsync(
                run.Jobs[0].Id, Samples.Step(1, TempDatabase.Start, StepKind.Idempotency, exitCode: 2, JobResult.Failure), CancellationToken.None);
            await store.JobProgress.AddIdempotencyChangesAsync(run.Jobs[0].Id, step.Id, changes, CancellationToken.None);
        }

        await store.Jobs.MarkFinishedAsync(run.Jobs[0].Id, result, "done", CancellationToken.None);
    }

    private void Listen(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => _observed.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString()))));
        _listener.Start();
    }

    private List<(int Value, Dictionary<string, string?> Tags)> Observe(string instrument = "cirunner.cell.result")
    {
        _observed.Clear();
        _listener.RecordObservableInstruments();
        return [.. _observed.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags))];
    }

    /// <summary>After an invalidation the read runs in the background; later scrapes see it.</summary>
    private Task<List<(int Value, Dictionary<string, string?> Tags)>> ObserveUntilAsync(Func<List<(int Value, Dictionary<string, string?> Tags)>, bool> done) =>
        Eventually.LastValueAsync(() => Task.FromResult(Observe()), done, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
}
