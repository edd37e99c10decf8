using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Polling;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Scheduling;

/// <summary>The in-process poll clock of a single instance, on a fake clock, polling a real repository into a real mirror and database.</summary>
public sealed class PollClockTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly PollingHarness _harness;
    private readonly ITestOutputHelper _output;

    public PollClockTests(ITestOutputHelper output)
    {
        _output = output;
        _harness = new PollingHarness(output, folder =>
        {
            folder.Set("Schedule:PollInterval", "1m");
            folder.Set("Schedule:PollJitter", "30s");
        });
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void NextSlot_StaysOnTheGrid_AndSkipsTheSlotsMissed()
    {
        var slot = new DateTimeOffset(2026, 12, 5, 3, 0, 7, TimeSpan.Zero);
        TimeSpan interval = TimeSpan.FromSeconds(5);

        Assert.Equal(slot, PollClock.NextSlot(slot, interval, slot - TimeSpan.FromSeconds(1)));
        Assert.Equal(slot + interval, PollClock.NextSlot(slot, interval, slot));
        Assert.Equal(slot + (4 * interval), PollClock.NextSlot(slot, interval, slot + (3 * interval) + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Clock_PollsFromTheModulesOffset_ThenEveryInterval_AndAfterALongPauseOnceOnTheGrid()
    {
        // Given a module with one commit and the clock started at T0
        _harness.Remote.Commit("master");
        var time = new TimerCountingTimeProvider(new DateTimeOffset(2026, 12, 5, 3, 0, 0, TimeSpan.Zero));
        DateTimeOffset start = time.GetUtcNow();
        DateTimeOffset first = start + ScheduleSynchronizer.FirstPollOffset("keystone", TimeSpan.FromSeconds(30));
        using var clock = new PollClock(_harness.Settings, _harness.Poller, time, new TestOutputLogger<PollClock>(_output));
        await clock.StartAsync(CancellationToken.None);
        try
        {
            // Then nothing polls before the module's first slot, which is its offset within the jitter
            Assert.Equal(first, await NextPollAsync(clock));
            await WaitingAsync(time, 1);
            time.SetUtcNow(first - TimeSpan.FromMilliseconds(1));
            await Task.Delay(200);
            Assert.Null(await StatusAsync());

            // When the first slot comes, the module is polled and its next poll is an interval later
            time.SetUtcNow(first);
            await Eventually.TrueAsync("the first poll", async () => (await StatusAsync())?.LastSuccessAt is not null, Patience);
            Assert.Equal(first + TimeSpan.FromMinutes(1), await NextPollAsync(clock));
            await WaitingAsync(time, 2);

            // When a commit is pushed and the clock jumps three intervals and a bit (a suspended machine)
            string pushed = _harness.Remote.Commit("master");
            time.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(10));

            // Then one poll finds it, and the next slot is the grid's next, not a burst of the slots missed
            RunRecord run = await Eventually.ForAsync("a run for the pushed commit", async () => (await _harness.RunsAsync()).SingleOrDefault(), Patience);
            Assert.Equal(pushed, run.CommitSha);
            Assert.Equal(first + TimeSpan.FromMinutes(4), await NextPollAsync(clock));
        }
        finally
        {
            await clock.StopAsync(CancellationToken.None);
        }

        Assert.Null(await clock.NextPollAtAsync("keystone", CancellationToken.None));
    }

    private static async Task<DateTimeOffset> NextPollAsync(PollClock clock) =>
        await Eventually.ForAsync<DateTimeOffset?>("a scheduled poll", async () => await clock.NextPollAtAsync("keystone", CancellationToken.None), Patience) ?? default;

    /// <summary>
    /// Until the clock's loop has set its <paramref name="count"/>th timer. The loop reads the time and then sets a timer
    /// for the wait left; moving the fake time between those two steps would set that timer relative to the moved time,
    /// past the slot (a CI run under load did), so the test moves the time only while the loop waits.
    /// </summary>
    private static Task WaitingAsync(TimerCountingTimeProvider time, int count) =>
        Eventually.TrueAsync($"the clock's timer {count}", () => Task.FromResult(time.TimersSet >= count), Patience);

    private Task<ModulePollStatus?> StatusAsync() => _harness.Store.PollStatus.GetAsync("keystone", CancellationToken.None);

    /// <summary>A fake clock that counts the timers set on it, each counted once it is set.</summary>
    private sealed class TimerCountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _timersSet;

        public int TimersSet => Volatile.Read(ref _timersSet);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timersSet);
            return timer;
        }
    }
}
