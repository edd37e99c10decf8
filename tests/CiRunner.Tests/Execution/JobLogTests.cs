using System.Text;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Execution;

public sealed class JobLogTests
{
    [Fact]
    public async Task OutputAsync_LinesAndUtf8SplitAcrossReads_AreWrittenWholeWithTimestamps()
    {
        using var folder = new TempDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
        string path = folder.Combine("logs", "1.log");
        byte[] bytes = Encoding.UTF8.GetBytes("Notice: café\nWarn");

        await using (JobLog log = JobLog.Open(path, time))
        {
            await log.EventAsync("step 1/1 deploy/apply", CancellationToken.None);

            // Split inside the two-byte 'é' and inside the unterminated last line.
            await log.OutputAsync(false, bytes[..12], 12, CancellationToken.None);
            await log.OutputAsync(false, bytes[12..], bytes.Length - 12, CancellationToken.None);
            await log.OutputAsync(true, Encoding.UTF8.GetBytes("Error: boom\r\n"), 13, CancellationToken.None);
            await log.EndOutputAsync(CancellationToken.None);

            Assert.Equal(["== step 1/1 deploy/apply", "out Notice: café", "err Error: boom", "out Warn"], log.Tail(10));
        }

        Assert.Equal(
            [
                "2026-01-02T03:04:05.678Z == step 1/1 deploy/apply",
                "2026-01-02T03:04:05.678Z out Notice: café",
                "2026-01-02T03:04:05.678Z err Error: boom",
                "2026-01-02T03:04:05.678Z out Warn",
            ],
            await File.ReadAllLinesAsync(path));
    }
}
