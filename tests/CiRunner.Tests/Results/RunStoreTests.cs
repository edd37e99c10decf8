using System.Data.Common;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;

namespace CiRunner.Tests.Results;

public abstract class RunStoreTests : IDisposable
{
    private readonly IStoreUnderTest _temp;
    private readonly ResultsStore _store;

    protected RunStoreTests(IStoreUnderTest temp)
    {
        _temp = temp;
        _store = _temp.CreateStore();
    }

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task CreateAsync_RunWithJobs_StoresRunAndQueuedJobs()
    {
        NewRun newRun = Samples.Run(cause: RunCause.PatchSet, changeRef: "refs/changes/45/12345/3", patchSet: 3) with { RequestedBy = "zuul" };

        RunDetail created = await _store.Runs.CreateAsync(newRun, [Samples.Deploy(), Samples.Upgrade()], CancellationToken.None);
        RunDetail? read = await _store.Runs.GetDetailAsync(created.Run.Id, CancellationToken.None);

        Assert.NotNull(read);
        Assert.Equal(created.Run, read.Run);
        Assert.Equal(created.Jobs, read.Jobs);
        Assert.Equal(
            new RunRecord(created.Run.Id, RunCause.PatchSet, "keystone", "stable/2024.1", Samples.Sha, "refs/changes/45/12345/3", 3, "zuul", TempDatabase.Start, null, null, null),
            read.Run);
        JobRecord upgrade = read.Jobs[1];
        Assert.Equal(
            new JobRecord(upgrade.Id, created.Run.Id, "2023.1->2024.1/scenario001:upgrade", JobKind.Upgrade, "2024.1", "2023.1", "scenario001", JobPriority.Manual,
                JobState.Queued, null, null, null, TempDatabase.Start, null, null, null, null, 2),
            upgrade);
        Assert.True(read.Jobs[0].Id < upgrade.Id);
    }

    [Fact]
    public async Task CreateAsync_Enums_StoredAsLowerCaseWords()
    {
        await _store.Runs.CreateAsync(Samples.Run(cause: RunCause.PatchSet, changeRef: "refs/changes/45/12345/3"), [Samples.Upgrade()], CancellationToken.None);

        await using DbConnection connection = await _temp.OpenConnectionAsync();
        Assert.Equal("patchset", await connection.ExecuteScalarAsync<string>("SELECT cause FROM runs"));
        Assert.Equal(("upgrade", "queued"), await connection.QuerySingleAsync<(string, string)>("SELECT kind, state FROM jobs"));
        Assert.Equal("2025-04-01T02:00:00.000Z", await connection.ExecuteScalarAsync<string>("SELECT created_at FROM runs"));
    }

    [Fact]
    public async Task CreateAsync_NoJobs_FinishesRunAsSkipped()
    {
        RunDetail created = await _store.Runs.CreateAsync(Samples.Run(), [], CancellationToken.None);

        RunRecord? read = await _store.Runs.GetAsync(created.Run.Id, CancellationToken.None);

        Assert.Equal(JobResult.Skipped, read?.Result);
        Assert.Equal(TempDatabase.Start, read?.FinishedAt);
    }

    [Fact]
    public async Task ListRecentAsync_ByModuleAndBranch_NewestFirstWithJobCounts()
    {
        RunDetail older = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy("2024.1"), Samples.Deploy("2024.2")], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        await _store.Runs.CreateAsync(Samples.Run(module: "nova"), [Samples.Deploy()], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        await _store.Runs.CreateAsync(Samples.Run(branch: "master"), [Samples.Deploy()], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(1));
        RunDetail newer = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(older.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        await _store.Jobs.MarkFinishedAsync(older.Jobs[1].Id, JobResult.Failure, null, CancellationToken.None);

        IReadOnlyList<RunSummary> runs = await _store.Runs.ListRecentAsync("keystone", "stable/2024.1", 20, CancellationToken.None);

        Assert.Equal([newer.Run.Id, older.Run.Id], runs.Select(r => r.Run.Id));
        Assert.Equal((2, 1), (runs[1].JobCount, runs[1].PassedCount));
        Assert.Equal((1, 0), (runs[0].JobCount, runs[0].PassedCount));
        Assert.Equal(3, (await _store.Runs.ListRecentAsync("keystone", null, 20, CancellationToken.None)).Count);
        Assert.Equal(3, (await _store.Runs.ListRecentAsync(null, "stable/2024.1", 20, CancellationToken.None)).Count);
        Assert.Equal(4, (await _store.Runs.ListRecentAsync(null, null, 20, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task ListRecentAsync_MoreRunsThanLimit_ReturnsTheNewest()
    {
        var ids = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            ids.Add((await _store.Runs.CreateAsync(Samples.Run(), [], CancellationToken.None)).Run.Id);
        }

        IReadOnlyList<RunSummary> runs = await _store.Runs.ListRecentAsync(null, null, 3, CancellationToken.None);

        // Same creation time: the id breaks the tie, newest first.
        Assert.Equal(ids.AsEnumerable().Reverse().Take(3), runs.Select(r => r.Run.Id));
    }

    [Fact]
    public async Task CreateAsync_SecondRunForTheSameHead_RefusedAndNothingOfItStored()
    {
        NewRun head = Samples.Run() with { HeadRef = "stable/2024.1", SeenGeneration = 4 };
        RunDetail first = await _store.Runs.CreateAsync(head, [Samples.Deploy()], CancellationToken.None);

        // A second instance compared with the same stored head (generation 4) and saw the same new commit.
        HeadAlreadyStartedException refused = await Assert.ThrowsAsync<HeadAlreadyStartedException>(
            () => _store.Runs.CreateAsync(head, [Samples.Deploy(), Samples.Upgrade()], CancellationToken.None));

        Assert.Equal((first.Run.Id, 5L), (refused.RunId, refused.Generation));
        await using DbConnection connection = await _temp.OpenConnectionAsync();
        Assert.Equal((1L, 1L), await connection.QuerySingleAsync<(long, long)>("SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM jobs)"));
        Assert.Equal(5, (await _store.PollState.GetAsync("keystone", "stable/2024.1", CancellationToken.None))?.Generation);
    }

    [Fact]
    public async Task CreateAsync_BranchReturnsToAnEarlierCommit_StartsARunAgain()
    {
        string[] heads = ["aaaa", "bbbb", "aaaa"];
        var runs = new List<long>();
        foreach (string commit in heads)
        {
            long seen = (await _store.PollState.GetAsync("keystone", "master", CancellationToken.None))?.Generation ?? 0;
            NewRun run = Samples.Run(branch: "master") with { CommitSha = commit, HeadRef = "master", SeenGeneration = seen };
            runs.Add((await _store.Runs.CreateAsync(run, [Samples.Deploy()], CancellationToken.None)).Run.Id);
        }

        Assert.Equal(3, runs.Distinct().Count());
        Assert.Equal(("aaaa", 3L), await HeadAsync("master"));
    }

    [Fact]
    public async Task CreateAsync_TwoInstancesRaceForTheSameHeads_EachHeadStartsExactlyOneRun()
    {
        // Two databases are two connection pools, as two serve processes on one store.
        ResultsStore other = new(_temp.CreateDatabase(), _temp.Time);
        const int Heads = 12;

        async Task<int> PollAsync(ResultsStore store)
        {
            int started = 0;
            for (int i = 0; i < Heads; i++)
            {
                NewRun run = Samples.Run(branch: "master") with { CommitSha = $"c{i:D3}", HeadRef = "master", SeenGeneration = i };
                try
                {
                    await store.Runs.CreateAsync(run, [Samples.Deploy()], CancellationToken.None);
                    started++;
                }
                catch (HeadAlreadyStartedException)
                {
                }
            }

            return started;
        }

        int[] started = await Task.WhenAll(Task.Run(() => PollAsync(_store)), Task.Run(() => PollAsync(other)));

        Assert.Equal(Heads, started.Sum());
        await using DbConnection connection = await _temp.OpenConnectionAsync();
        Assert.Equal(
            Enumerable.Range(1, Heads).Select(g => (long)g),
            await connection.QueryAsync<long>("SELECT head_generation FROM runs ORDER BY head_generation"));
        Assert.Equal(("c011", (long)Heads), await HeadAsync("master"));
    }

    private async Task<(string?, long?)> HeadAsync(string branch)
    {
        BranchHeadRecord? head = await _store.PollState.GetAsync("keystone", branch, CancellationToken.None);
        return (head?.CommitSha, head?.Generation);
    }

    [Fact]
    public async Task GetDetailAsync_UnknownRun_ReturnsNull()
    {
        Assert.Null(await _store.Runs.GetDetailAsync(42, CancellationToken.None));
        Assert.Null(await _store.Runs.GetAsync(42, CancellationToken.None));
    }
}

/// <summary>The <see cref="RunStoreTests"/> contract on a SQLite file.</summary>
public sealed class RunStoreOnSqliteTests() : RunStoreTests(new TempDatabase());

/// <summary>The <see cref="RunStoreTests"/> contract on a real PostgreSQL.</summary>
[Trait("Category", "Postgres")]
public sealed class RunStoreOnPostgresTests() : RunStoreTests(new TempPostgresDatabase());
