using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

public abstract class InstanceStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected InstanceStoreTests(IStoreUnderTest temp)
    {
        _temp = temp;
        _store = temp.CreateStore();
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task CheckInAsync_Again_OneRowWithTheNewestCheckInAndItsRunningJobs()
    {
        DateTimeOffset started = TempDatabase.Start;
        await _store.Instances.CheckInAsync("ci-east", "ci1", 4242, started, CancellationToken.None);
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2"), Samples.Deploy("2025.1")], CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, "ci-east", CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[1].Id, null, null, "ci-west", CancellationToken.None);
        await _store.Jobs.MarkStartedAsync(run.Jobs[2].Id, null, null, "ci-east", CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(run.Jobs[2].Id, JobResult.Success, "ok", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(10));

        var engine = new InstanceEngine("tcp://engine-1:2376", 3) { Up = false, LastError = "connection refused", LastErrorAt = started.AddSeconds(5), Errors = 2 };
        await _store.Instances.CheckInAsync("ci-east", "ci1", 4242, started, [engine], CancellationToken.None);

        InstanceRecord instance = Assert.Single(await _store.Instances.ListAsync(CancellationToken.None));
        Assert.Equal(
            new InstanceRecord("ci-east", "ci1", 4242, started, started.AddSeconds(10), null, 1)
            {
                Engine = "tcp://engine-1:2376",
                Capacity = 3,
                EngineUp = false,
                EngineError = "connection refused",
                EngineErrorAt = started.AddSeconds(5),
                EngineErrors = 2,
                Engines = instance.Engines,
            },
            instance);
        Assert.Equal([engine], instance.Engines);
        Assert.Equal("serving", instance.StateAt(_temp.Time.GetUtcNow()));
    }

    [Fact]
    public async Task CheckInAsync_Pool_EachEngineReadBackInPoolOrderBesideTheSums()
    {
        // Given a pool whose order is not its names' order, one engine down since a moment with sub-millisecond ticks
        DateTimeOffset started = TempDatabase.Start;
        InstanceEngine[] pool =
        [
            new("unix:///var/run/docker.sock", 2) { Name = "zulu", Running = 1, Errors = 0 },
            new("tcp://engine-2:2376", 4) { Name = "alpha", Running = 0, Up = false, LastError = "connection refused", LastErrorAt = started.AddTicks(12_345_678), Errors = 3 },
            new("tcp://engine-3:2376", 1) { Name = "mike", Running = 1, LastError = "job 7 lost it", LastErrorAt = started.AddMinutes(-5), Errors = 1 },
        ];

        // When the instance checks in with it
        await _store.Instances.CheckInAsync("ci-east", "ci1", 4242, started, pool, CancellationToken.None);
        InstanceRecord instance = Assert.Single(await _store.Instances.ListAsync(CancellationToken.None));

        // Then every engine reads back in pool order, its error time cut to the store's milliseconds, and the instance keeps the sums
        Assert.Equal(
            [pool[0], pool[1] with { LastErrorAt = started.AddMilliseconds(1234) }, pool[2]],
            instance.Engines);
        Assert.Equal(
            ("unix:///var/run/docker.sock", (int?)7, (bool?)false, (long?)4),
            (instance.Engine, instance.Capacity, instance.EngineUp, instance.EngineErrors));
    }

    [Fact]
    public async Task CheckInAsync_PoolChanged_RowsFollowTheNewListAndOtherInstancesKeepTheirs()
    {
        // Given two instances with pools
        InstanceEngine a = new("tcp://a:2376", 2) { Name = "a" };
        InstanceEngine b = new("tcp://b:2376", 2) { Name = "b" };
        InstanceEngine c = new("tcp://c:2376", 2) { Name = "c" };
        await _store.Instances.CheckInAsync("ci-east", "ci1", 1, TempDatabase.Start, [a, b, c], CancellationToken.None);
        await _store.Instances.CheckInAsync("ci-west", "ci2", 2, TempDatabase.Start, [a, b], CancellationToken.None);

        // When one checks in with an engine gone, the others reordered and busier
        InstanceEngine busyC = c with { Running = 2, Up = false, LastError = "no answer", LastErrorAt = TempDatabase.Start, Errors = 1 };
        InstanceEngine busyA = a with { Running = 1 };
        await _store.Instances.CheckInAsync("ci-east", "ci1", 1, TempDatabase.Start, [busyC, busyA], CancellationToken.None);
        IReadOnlyList<InstanceRecord> afterChange = await _store.Instances.ListAsync(CancellationToken.None);

        // and then without any pool
        await _store.Instances.CheckInAsync("ci-east", "ci1", 1, TempDatabase.Start, CancellationToken.None);
        IReadOnlyList<InstanceRecord> afterNone = await _store.Instances.ListAsync(CancellationToken.None);

        // Then its rows are exactly the newest list, in its order, and the other instance's rows never moved
        Assert.Equal([busyC, busyA], afterChange.Single(i => i.Id == "ci-east").Engines);
        Assert.Empty(afterNone.Single(i => i.Id == "ci-east").Engines);
        Assert.Equal([a, b], afterNone.Single(i => i.Id == "ci-west").Engines);
    }

    [Fact]
    public async Task MarkStoppedAsync_CleanStop_StoppedUntilItChecksInAgain()
    {
        await _store.Instances.CheckInAsync("ci-east", "ci1", 4242, TempDatabase.Start, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));

        await _store.Instances.MarkStoppedAsync("ci-east", CancellationToken.None);
        InstanceRecord stopped = Assert.Single(await _store.Instances.ListAsync(CancellationToken.None));
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        await _store.Instances.CheckInAsync("ci-east", "ci2", 99, _temp.Time.GetUtcNow(), CancellationToken.None);
        InstanceRecord again = Assert.Single(await _store.Instances.ListAsync(CancellationToken.None));

        Assert.Equal((TempDatabase.Start.AddMinutes(1), "stopped"), (stopped.StoppedAt, stopped.StateAt(_temp.Time.GetUtcNow())));
        Assert.Equal(("ci2", 99L, (DateTimeOffset?)null, "serving"), (again.Host, again.Pid, again.StoppedAt, again.StateAt(_temp.Time.GetUtcNow())));
    }

    [Fact]
    public async Task StateAt_NoCheckInForThreeIntervals_IsSilent()
    {
        await _store.Instances.CheckInAsync("ci-east", "ci1", 4242, TempDatabase.Start, CancellationToken.None);

        InstanceRecord instance = Assert.Single(await _store.Instances.ListAsync(CancellationToken.None));

        Assert.Equal("serving", instance.StateAt(TempDatabase.Start.AddSeconds(30)));
        Assert.Equal("silent", instance.StateAt(TempDatabase.Start.AddSeconds(31)));
    }
}

/// <summary>The <see cref="InstanceStoreTests"/> contract on a SQLite file.</summary>
public sealed class InstanceStoreOnSqliteTests() : InstanceStoreTests(new TempDatabase());

/// <summary>The <see cref="InstanceStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class InstanceStoreOnPostgresTests() : InstanceStoreTests(new TempPostgresDatabase());
