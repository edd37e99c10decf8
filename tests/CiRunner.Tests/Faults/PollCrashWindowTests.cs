using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Polling;
using Microsoft.Data.Sqlite;

namespace CiRunner.Tests.Faults;

/// <summary>
/// The window where a crash could lose or double a trigger: between creating a head's run and storing the head.
/// Both are written in one transaction, so a death while the head is written leaves neither: the next poll sees the
/// head as new and creates its run exactly once. The death is made real in the database: a trigger refuses the
/// head's write, as a process killed before it would never make it.
/// </summary>
public sealed class PollCrashWindowTests : IDisposable
{
    private readonly PollingHarness _harness;

    public PollCrashWindowTests(ITestOutputHelper output)
    {
        _harness = new PollingHarness(output);
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Poll_DiesWhileStoringTheHead_TheNextPollCreatesTheRunOnce()
    {
        _harness.Remote.Commit("master");
        await _harness.PollAsync();
        string pushed = _harness.Remote.Commit("master");

        await ExecuteAsync("CREATE TRIGGER die_before_head BEFORE UPDATE ON branch_heads BEGIN SELECT RAISE(ABORT, 'killed'); END");
        ModulePollOutcome dying = await _harness.PollAsync();
        IReadOnlyList<RunRecord> afterDeath = await _harness.RunsAsync();

        await ExecuteAsync("DROP TRIGGER die_before_head");
        _harness.Restart();
        await _harness.PollAsync();
        await _harness.PollAsync();

        Assert.False(dying.Succeeded, "the head's write was refused, so the poll must fail");
        Assert.Empty(afterDeath);
        IReadOnlyList<RunRecord> runs = await _harness.RunsAsync();
        Assert.Equal([pushed], runs.Select(r => r.CommitSha));
        Assert.Equal(pushed, (await _harness.Store.PollState.ListAsync("keystone", default)).Single(h => h.Branch == "master").CommitSha);
        Assert.Equal(JobState.Queued, (await _harness.Store.Runs.GetDetailAsync(runs[^1].Id, default))!.Jobs[0].State);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_harness.Settings.DataPaths.DatabaseFile};Pooling=False");
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
