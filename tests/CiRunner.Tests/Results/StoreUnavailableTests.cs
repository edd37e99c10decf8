using CiRunner.Results;
using Microsoft.Extensions.Time.Testing;
using Polly;

namespace CiRunner.Tests.Results;

/// <summary>
/// A database server that does not answer is worth waiting for (a job's end must be stored once it is back), and the
/// wait pauses between tries rather than spinning on a refused connection.
/// </summary>
public sealed class StoreUnavailableTests
{
    [Fact]
    [Trait("Category", "Postgres")]
    public async Task IsUnavailable_PostgreSqlRefusesTheConnection_True_ABadQueryIsNot()
    {
        await using var refused = new PostgresDialect("Host=127.0.0.1;Port=1;Username=nobody;Password=x;Database=none;Timeout=2");
        Exception down = await Assert.ThrowsAnyAsync<Exception>(async () => await refused.OpenAsync(CancellationToken.None));

        using var test = new Fixtures.TempPostgresDatabase();
        ResultsDatabase live = test.CreateDatabase();
        await using System.Data.Common.DbConnection connection = await live.OpenAsync(CancellationToken.None);
        await using System.Data.Common.DbCommand bad = connection.CreateCommand();
        bad.CommandText = "SELECT * FROM no_such_table";
        Exception badQuery = await Assert.ThrowsAnyAsync<Exception>(() => bad.ExecuteNonQueryAsync());

        Assert.True(refused.IsUnavailable(down), down.ToString());
        Assert.False(live.IsUnavailable(badQuery));
    }

    [Fact]
    public async Task UntilStored_ServerDidNotAnswer_TriesAgainAfterThePause()
    {
        var time = new FakeTimeProvider();
        int attempts = 0;
        ResiliencePipeline pipeline = DatabaseLockRetry.UntilStored(
            isDiskFull: _ => false, time, keepTrying: e => e is TimeoutException, diskFullPause: TimeSpan.FromMinutes(1), onDeferred: _ => { });

        Task stored = pipeline.ExecuteAsync(
            _ => ++attempts == 1 ? throw new TimeoutException("server did not answer") : ValueTask.CompletedTask,
            CancellationToken.None).AsTask();
        await Task.Yield();
        int beforePause = attempts;
        time.Advance(DatabaseLockRetry.UnavailablePause);
        await stored.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((1, 2), (beforePause, attempts));
    }
}

/// <summary>Instances sharing a PostgreSQL database hear of each other's queued jobs at the commit.</summary>
public sealed class QueueNotificationTests
{
    [Fact]
    [Trait("Category", "Postgres")]
    public async Task ListenForQueuedJobsAsync_OnPostgres_AnotherInstancesRunWakesTheListenerOnce()
    {
        using var database = new Fixtures.TempPostgresDatabase();
        ResultsStore listener = database.CreateStore();
        ResultsStore other = database.CreateStore();
        await listener.Database.EnsureSchemaAsync(CancellationToken.None);
        int calls = 0;
        var listeningNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        Task listening = listener.Jobs.ListenForQueuedJobsAsync(
            () => (Interlocked.Increment(ref calls) == 1 ? listeningNow : woken).TrySetResult(), stop.Token);
        await listeningNow.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await other.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await woken.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listening);
        // One at the start (catching up), one for the run's transaction however many jobs it queued.
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task ListenForQueuedJobsAsync_OnSqlite_ReturnsAtOnce()
    {
        using var database = new Fixtures.TempDatabase();
        Task listening = database.CreateStore().Jobs.ListenForQueuedJobsAsync(() => throw new InvalidOperationException("SQLite announces nothing"), CancellationToken.None);

        await listening.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(listening.IsCompletedSuccessfully);
    }
}
