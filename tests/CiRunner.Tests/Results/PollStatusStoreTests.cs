using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

public abstract class PollStatusStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly PollStatusStore _status;

    protected PollStatusStoreTests(IStoreUnderTest temp)
    {
        _temp = temp;
        _status = _temp.CreateStore().PollStatus;
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task GetAsync_NeverPolled_ReturnsNull()
    {
        Assert.Null(await _status.GetAsync("keystone", CancellationToken.None));
    }

    [Fact]
    public async Task Record_FailuresThenSuccess_CountsBothWaysAndKeepsTheLastError()
    {
        DateTimeOffset firstFailure = _temp.Time.GetUtcNow();
        await _status.RecordFailureAsync("keystone", "connection refused", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(5));
        DateTimeOffset secondFailure = _temp.Time.GetUtcNow();
        await _status.RecordFailureAsync("keystone", "timed out", CancellationToken.None);
        ModulePollStatus? failing = await _status.GetAsync("keystone", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(5));
        DateTimeOffset success = _temp.Time.GetUtcNow();

        await _status.RecordSuccessAsync("keystone", CancellationToken.None);

        Assert.Equal(new ModulePollStatus("keystone", secondFailure, null, "timed out", secondFailure, 2, 2), failing);
        Assert.NotEqual(firstFailure, secondFailure);
        Assert.Equal(
            new ModulePollStatus("keystone", success, success, "timed out", secondFailure, 0, 2),
            await _status.GetAsync("keystone", CancellationToken.None));
    }

    [Fact]
    public async Task RecordQuietSuccess_SeenHereAtOnce_ElsewhereAfterTheFlush()
    {
        await _status.RecordSuccessAsync("keystone", CancellationToken.None);
        DateTimeOffset written = _temp.Time.GetUtcNow();
        _temp.Time.Advance(TimeSpan.FromMinutes(5));
        DateTimeOffset quiet = _temp.Time.GetUtcNow();
        PollStatusStore elsewhere = _temp.CreateStore().PollStatus;

        _status.RecordQuietSuccess("keystone");

        var expected = new ModulePollStatus("keystone", quiet, quiet, null, null, 0, 0);
        Assert.Equal(expected, await _status.GetAsync("keystone", CancellationToken.None));
        Assert.Equal([expected], await _status.ListAsync(CancellationToken.None));
        Assert.Equal(written, (await elsewhere.GetAsync("keystone", CancellationToken.None))!.LastPollAt);
        Assert.Equal(1, await _status.FlushQuietPollsAsync(CancellationToken.None));
        Assert.Equal(expected, await elsewhere.GetAsync("keystone", CancellationToken.None));
        Assert.Equal(0, await _status.FlushQuietPollsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task FlushQuietPolls_AFailureRecordedAfterTheQuietPoll_StaysAsItIs()
    {
        await _status.RecordSuccessAsync("keystone", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(5));
        DateTimeOffset quiet = _temp.Time.GetUtcNow();
        _status.RecordQuietSuccess("keystone");
        _temp.Time.Advance(TimeSpan.FromMinutes(5));
        DateTimeOffset failed = _temp.Time.GetUtcNow();
        // Another instance's poll of the module fails after this one's quiet poll
        await _temp.CreateStore().PollStatus.RecordFailureAsync("keystone", "refused", CancellationToken.None);

        ModulePollStatus seenHere = (await _status.GetAsync("keystone", CancellationToken.None))!;
        await _status.FlushQuietPollsAsync(CancellationToken.None);

        var expected = new ModulePollStatus("keystone", failed, quiet, "refused", failed, 1, 1);
        Assert.Equal(expected, seenHere);
        Assert.Equal(expected, await _temp.CreateStore().PollStatus.GetAsync("keystone", CancellationToken.None));
    }

    [Fact]
    public async Task ListAsync_ModulesInNameOrder()
    {
        await _status.RecordSuccessAsync("nova", CancellationToken.None);
        await _status.RecordFailureAsync("glance", "refused", CancellationToken.None);

        IReadOnlyList<ModulePollStatus> all = await _status.ListAsync(CancellationToken.None);

        Assert.Equal(["glance", "nova"], all.Select(s => s.Module));
    }
}

/// <summary>The <see cref="PollStatusStoreTests"/> contract on a SQLite file.</summary>
public sealed class PollStatusStoreOnSqliteTests() : PollStatusStoreTests(new TempDatabase());

/// <summary>The <see cref="PollStatusStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class PollStatusStoreOnPostgresTests() : PollStatusStoreTests(new TempPostgresDatabase());
