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
            },
            instance);
        Assert.Equal("serving", instance.StateAt(_temp.Time.GetUtcNow()));
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
