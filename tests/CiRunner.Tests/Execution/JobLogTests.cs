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

    [Fact]
    public async Task StepHeaderAsync_WrittenLine_IsRecognisedAsAHeaderAndTheStepsEndLineIsNot()
    {
        using var folder = new TempDirectory();
        string path = folder.Combine("1.log");

        await using (JobLog log = JobLog.Open(path, new FakeTimeProvider(DateTimeOffset.UnixEpoch)))
        {
            await log.StepHeaderAsync("step 2/3 deploy/idempotency", StepKind.Idempotency, TimeSpan.FromMinutes(10), "puppet apply --detailed-exitcodes /m.pp", CancellationToken.None);
            await log.OutputAsync(isStderr: false, "== step 9/9 looks/like (command, timeout 1 s): but is output");
            await log.EventAsync("step 2/3 deploy/idempotency: failure, exit 2, 4.00 s - changed: File[/etc/x] (content)", CancellationToken.None);
        }

        string[] lines = await File.ReadAllLinesAsync(path);
        Assert.Equal("1970-01-01T00:00:00.000Z == step 2/3 deploy/idempotency (idempotency, timeout 600 s): puppet apply --detailed-exitcodes /m.pp", lines[0]);
        Assert.Equal([true, false, false], lines.Select(JobLog.IsStepHeader));
    }
}
