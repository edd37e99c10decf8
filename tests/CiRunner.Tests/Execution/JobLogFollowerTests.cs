using System.Text;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>Following a log file while it is written: whole lines with their byte offsets, resuming, waiting for a job to start, and the end.</summary>
public sealed class JobLogFollowerTests : IDisposable
{
    private readonly TempDirectory _folder = new();
    private readonly JobLogFollower _follower = new(TimeProvider.System, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50));
    private volatile bool _finished;
    private volatile string? _logFile;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task FollowAsync_LinesAppendedWhileFollowing_ArriveWholeInOrderWithOffsetsThenTheEnd()
    {
        string path = _folder.Combine("logs", "1.log");
        _logFile = path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var writer = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        await WriteAsync(writer, "first\nsec");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using IAsyncEnumerator<LogFollowItem> items = _follower.FollowAsync(ProbeAsync, 0, timeout.Token).GetAsyncEnumerator(timeout.Token);

        // Given the first line is there and the second half written
        IReadOnlyList<LogLine> first = await NextLinesAsync(items);
        await WriteAsync(writer, "ond\r\ncafé\n");
        IReadOnlyList<LogLine> later = await NextLinesAsync(items);
        await WriteAsync(writer, "last, unterminated");
        _finished = true;
        List<LogFollowItem> rest = await DrainAsync(items);

        // The byte offsets are where each line ends in the file: "é" is two bytes, the CR is dropped from the text
        Assert.Equal([new LogLine("first", 6)], first);
        Assert.Equal([new LogLine("second", 14), new LogLine("café", 20)], later);
        Assert.Equal([new LogLine("last, unterminated", 38)], rest.Where(i => i.Kind == LogFollowKind.Lines).SelectMany(i => i.Lines));
        Assert.Equal(LogFollowKind.Ended, rest[^1].Kind);
        Assert.Equal(38, new FileInfo(path).Length);
    }

    [Fact]
    public async Task FollowAsync_FromAnEndOffsetSeenBefore_StartsWithTheNextLine()
    {
        _logFile = _folder.Write("1.log", "one\ntwo\nthree\n");
        _finished = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        List<LogFollowItem> items = await DrainAsync(_follower.FollowAsync(ProbeAsync, 4, timeout.Token).GetAsyncEnumerator(timeout.Token));

        Assert.Equal([new LogLine("two", 8), new LogLine("three", 14)], items.SelectMany(i => i.Lines));
        Assert.Equal(LogFollowKind.Ended, items[^1].Kind);
    }

    [Fact]
    public async Task FollowAsync_JobNotStartedYet_SaysItIsQuietUntilTheLogAppearsThenReadsIt()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using IAsyncEnumerator<LogFollowItem> items = _follower.FollowAsync(ProbeAsync, 0, timeout.Token).GetAsyncEnumerator(timeout.Token);

        Assert.True(await items.MoveNextAsync());
        LogFollowItem waiting = items.Current;
        _logFile = _folder.Write("1.log", "== job started\n");
        _finished = true;
        List<LogFollowItem> rest = await DrainAsync(items);

        Assert.Equal((LogFollowKind.Quiet, null), (waiting.Kind, waiting.Job.LogFile));
        Assert.Equal([new LogLine("== job started", 15)], rest.SelectMany(i => i.Lines));
        Assert.Equal(LogFollowKind.Ended, rest[^1].Kind);
    }

    [Fact]
    public async Task FollowAsync_CancelledWhileWaiting_StopsWithOperationCanceled()
    {
        _logFile = _folder.Write("1.log", "one\n");
        using var stop = new CancellationTokenSource();
        await using IAsyncEnumerator<LogFollowItem> items = _follower.FollowAsync(ProbeAsync, 0, stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await items.MoveNextAsync());

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await items.MoveNextAsync())
            {
            }
        });
    }

    private Task<FollowedJob> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(new FollowedJob(_logFile, _finished));

    private static async Task WriteAsync(FileStream writer, string text)
    {
        await writer.WriteAsync(Encoding.UTF8.GetBytes(text));
        await writer.FlushAsync();
    }

    /// <summary>The next lines the follower yields, skipping quiet notices.</summary>
    private static async Task<IReadOnlyList<LogLine>> NextLinesAsync(IAsyncEnumerator<LogFollowItem> items)
    {
        while (await items.MoveNextAsync())
        {
            if (items.Current.Kind == LogFollowKind.Lines)
            {
                return items.Current.Lines;
            }
        }

        throw new InvalidOperationException("the follower ended before any line");
    }

    private static async Task<List<LogFollowItem>> DrainAsync(IAsyncEnumerator<LogFollowItem> items)
    {
        var all = new List<LogFollowItem>();
        while (await items.MoveNextAsync())
        {
            all.Add(items.Current);
        }

        return all;
    }
}
