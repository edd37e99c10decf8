using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>Where the pool puts jobs: free slots, the least busy engine, an engine's releases, and not on an engine that does not answer.</summary>
public sealed class EnginePlacementTests : IDisposable
{
    private readonly JobQueue _queue = new(TestTelemetry.Private());
    private readonly RunningJobs _running = new(TimeProvider.System);

    public void Dispose()
    {
        _queue.Dispose();
        _running.Dispose();
    }

    [Fact]
    public void Reserve_TwoEngines_LeastBusyShareFirstAndNothingPastCapacity()
    {
        EnginePool pool = Pool(Engine("east", 2), Engine("west", 1));
        QueuedJob job = Job("zed");

        string?[] placed = [.. Enumerable.Range(0, 4).Select(_ => pool.Reserve(job)?.Name)];

        Assert.Equal(new string?[] { "east", "west", "east", null }, placed);
        Assert.False(pool.CanTake(job));
        pool.Release(pool.Find("west")!);
        Assert.True(pool.CanTake(job));
        Assert.Equal("west", pool.Reserve(job)?.Name);
    }

    [Fact]
    public void Reserve_EngineWithReleases_TakesOnlyJobsWhoseEveryReleaseItHas()
    {
        EnginePool pool = Pool(Engine("old", 4, "zed", "2023.1"), Engine("new", 1, "2025.1"));

        Assert.Equal("old", pool.Reserve(Job("zed"))?.Name);
        Assert.Equal("new", pool.Reserve(Job("2025.1"))?.Name);
        Assert.Null(pool.Reserve(Job("2025.1")));
        Assert.Equal("old", pool.Reserve(Job("zed", "2023.1"))?.Name);
        Assert.False(pool.CanTake(Job("zed", "2025.1")));
    }

    [Fact]
    public async Task Reserve_EngineThatDoesNotAnswer_TakesNoJobUntilItDoes()
    {
        EnginePool pool = Pool(Engine("gone", 4), Engine("here", 1));
        JobEngine gone = pool.Find("gone")!;

        bool answered = await gone.Monitor.IsAvailableAsync(CancellationToken.None);

        Assert.False(answered);
        Assert.True(gone.IsDown);
        Assert.Equal("here", pool.Reserve(Job("zed"))?.Name);
        Assert.Null(pool.Reserve(Job("zed")));
        Assert.Null(pool.Outage);
    }

    [Fact]
    public async Task Outage_EveryEngineDown_IsTheOldestOutage()
    {
        EnginePool pool = Pool(Engine("one", 1), Engine("two", 1));

        foreach (JobEngine engine in pool.Engines)
        {
            Assert.False(await engine.Monitor.IsAvailableAsync(CancellationToken.None));
        }

        Assert.NotNull(pool.Outage);
        Assert.Equal(pool.Engines.Min(e => e.Monitor.Outage!.Since), pool.Outage!.Since);
    }

    [Fact]
    public async Task WatchAsync_EngineThatStopsAnswering_ItsRunningJobsAreEndedWithTheCauseAndOthersAreNot()
    {
        EnginePool pool = TestPools.Create([Engine("gone", 2), Engine("other", 1)], _queue, _running, drainAfter: TimeSpan.FromSeconds(1));
        JobEngine gone = pool.Reserve(Job("zed"))!;
        using CancellationTokenSource onGone = _running.Add(1, gone.Name, CancellationToken.None);
        using CancellationTokenSource onOther = _running.Add(2, "other", CancellationToken.None);
        using var watching = new CancellationTokenSource();

        Task watch = pool.WatchAsync(watching.Token);
        await Eventually.TrueAsync("the job on the lost engine to be cancelled", () => Task.FromResult(onGone.IsCancellationRequested), TimeSpan.FromSeconds(30), () => "");
        await watching.CancelAsync();
        await watch;

        Assert.Equal("gone", gone.Name);
        Assert.StartsWith("engine gone (", _running.EngineLostCause(1), StringComparison.Ordinal);
        Assert.Contains("has not answered since", _running.EngineLostCause(1), StringComparison.Ordinal);
        Assert.False(onOther.IsCancellationRequested);
        Assert.Null(_running.EngineLostCause(2));
    }

    [Fact]
    public void TryAdd_JobOfferedAgainWhileItRuns_KeepsTheRunningOnesEngineAndCancellation()
    {
        using CancellationTokenSource first = _running.TryAdd(7, "b", CancellationToken.None)!;

        CancellationTokenSource? second = _running.TryAdd(7, "a", CancellationToken.None);

        Assert.Null(second);
        Assert.Equal(1, _running.CancelOnLostEngine("b", "engine b gone"));
        Assert.Equal("engine b gone", _running.EngineLostCause(7));
        Assert.True(SpinWait.SpinUntil(() => first.IsCancellationRequested, TimeSpan.FromSeconds(10)));
    }

    private static EngineOptions Engine(string name, int capacity, params string[] releases) => new()
    {
        Name = name,
        Endpoint = $"{ConfigFolder.NoEngine}-{name}",
        Capacity = capacity,
        Releases = [.. releases],
    };

    private static QueuedJob Job(params string[] releases) => new(1, 1, JobPriority.Manual) { Releases = releases };

    private EnginePool Pool(params EngineOptions[] engines) => TestPools.Create(engines, _queue, _running);
}
