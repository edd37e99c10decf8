using System.Text;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Execution;

public sealed class JobLogTests
{
    [Fact]
    public void Push_LinesAndUtf8SplitAcrossReads_ComeOutWhole()
    {
        var splitter = new Utf8LineSplitter();
        byte[] bytes = Encoding.UTF8.GetBytes("Notice: café\r\nWarn");

        // Split inside the two-byte 'é', and leave the last line unterminated.
        List<string> first = splitter.Push(bytes[..12], 12);
        List<string> second = splitter.Push(bytes[12..], bytes.Length - 12);

        Assert.Empty(first);
        Assert.Equal(["Notice: café"], second);
        Assert.Equal("Warn", splitter.Drain());
        Assert.Null(splitter.Drain());
    }

    [Fact]
    public async Task EventAndOutput_AreWrittenWithUtcTimestamps_AndOutputIsKeptAsTail()
    {
        using var folder = new TempDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
        string path = folder.Combine("logs", "1.log");

        await using (JobLog log = JobLog.Open(path, time))
        {
            await log.EventAsync("step 1/1 deploy/apply", CancellationToken.None);
            await log.OutputAsync(isStderr: false, "Notice: café");
            await log.OutputAsync(isStderr: true, "Error: boom");
            await log.FlushAsync(CancellationToken.None);

            Assert.Equal(["out Notice: café", "err Error: boom"], log.Tail(10));
            Assert.Equal(["err Error: boom"], log.Tail(1));
        }

        Assert.Equal(
            [
                "2026-01-02T03:04:05.678Z == step 1/1 deploy/apply",
                "2026-01-02T03:04:05.678Z out Notice: café",
                "2026-01-02T03:04:05.678Z err Error: boom",
            ],
            await File.ReadAllLinesAsync(path));
    }
}
