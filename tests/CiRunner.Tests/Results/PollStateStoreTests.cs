using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Results;

public abstract class PollStateStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly PollStateStore _heads;

    protected PollStateStoreTests(IStoreUnderTest temp)
    {
        _temp = temp;
        _heads = _temp.CreateStore().PollState;
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task GetAsync_BranchNeverSeen_ReturnsNull()
    {
        Assert.Null(await _heads.GetAsync("keystone", "master", CancellationToken.None));
    }

    [Fact]
    public async Task UpsertAsync_NewHead_StoredWithTime()
    {
        BranchHeadRecord written = await _heads.UpsertAsync("keystone", "master", "aaaa", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(5));
        BranchHeadRecord moved = await _heads.UpsertAsync("keystone", "master", "bbbb", CancellationToken.None);

        Assert.Equal(new BranchHeadRecord("keystone", "master", "aaaa", TempDatabase.Start, null) { Generation = 1 }, written);
        Assert.Equal(moved, await _heads.GetAsync("keystone", "master", CancellationToken.None));
        Assert.Equal(("bbbb", TempDatabase.Start.AddMinutes(5)), (moved.CommitSha, moved.UpdatedAt));
    }

    [Fact]
    public async Task UpsertAsync_SameHeadAgain_KeepsItsGeneration_AChangeOrAReturnMovesIt()
    {
        await _heads.UpsertAsync("keystone", "master", "aaaa", CancellationToken.None);
        long same = (await _heads.UpsertAsync("keystone", "master", "aaaa", CancellationToken.None)).Generation;
        long moved = (await _heads.UpsertAsync("keystone", "master", "bbbb", CancellationToken.None)).Generation;
        await _heads.MarkDeletedAsync("keystone", "master", CancellationToken.None);
        long back = (await _heads.UpsertAsync("keystone", "master", "bbbb", CancellationToken.None)).Generation;

        Assert.Equal((1, 2, 3), (same, moved, back));
        Assert.Equal(3, (await _heads.GetAsync("keystone", "master", CancellationToken.None))?.Generation);
    }

    [Fact]
    public async Task MarkDeletedAsync_Twice_ReportsTheDeletionOnce()
    {
        await _heads.UpsertAsync("keystone", "stable/2023.1", "aaaa", CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromDays(1));

        Assert.True(await _heads.MarkDeletedAsync("keystone", "stable/2023.1", CancellationToken.None));
        Assert.False(await _heads.MarkDeletedAsync("keystone", "stable/2023.1", CancellationToken.None));
        Assert.False(await _heads.MarkDeletedAsync("keystone", "never-seen", CancellationToken.None));

        BranchHeadRecord? head = await _heads.GetAsync("keystone", "stable/2023.1", CancellationToken.None);
        Assert.Equal(("aaaa", TempDatabase.Start.AddDays(1)), (head?.CommitSha, head?.DeletedAt));
    }

    [Fact]
    public async Task UpsertAsync_DeletedBranchComesBack_LiveAgain()
    {
        await _heads.UpsertAsync("keystone", "stable/2023.1", "aaaa", CancellationToken.None);
        await _heads.MarkDeletedAsync("keystone", "stable/2023.1", CancellationToken.None);

        await _heads.UpsertAsync("keystone", "stable/2023.1", "cccc", CancellationToken.None);

        BranchHeadRecord? head = await _heads.GetAsync("keystone", "stable/2023.1", CancellationToken.None);
        Assert.Equal(("cccc", (DateTimeOffset?)null), (head?.CommitSha, head?.DeletedAt));
    }

    [Fact]
    public async Task ListAsync_ByModule_ItsBranchesInOrder()
    {
        await _heads.UpsertAsync("nova", "stable/2024.1", "n1", CancellationToken.None);
        await _heads.UpsertAsync("keystone", "stable/2024.1", "k2", CancellationToken.None);
        await _heads.UpsertAsync("keystone", "master", "k1", CancellationToken.None);

        IReadOnlyList<BranchHeadRecord> keystone = await _heads.ListAsync("keystone", CancellationToken.None);
        IReadOnlyList<BranchHeadRecord> all = await _heads.ListAsync(null, CancellationToken.None);

        Assert.Equal(["master", "stable/2024.1"], keystone.Select(h => h.Branch));
        Assert.Equal(["k1", "k2", "n1"], all.Select(h => h.CommitSha));
    }
}

/// <summary>The <see cref="PollStateStoreTests"/> contract on a SQLite file.</summary>
public sealed class PollStateStoreOnSqliteTests() : PollStateStoreTests(new TempDatabase());

/// <summary>The <see cref="PollStateStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class PollStateStoreOnPostgresTests() : PollStateStoreTests(new TempPostgresDatabase());
