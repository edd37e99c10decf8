using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using CiRunner.Execution;
using CiRunner.Web;

namespace CiRunner.Tests.Web;

/// <summary>The live log's events, read back with .NET's own Server-Sent Events parser, as an EventSource reads them.</summary>
public sealed class LiveLogFramesTests
{
    private const string Header = "2026-01-02T03:04:05.678Z == step 1/2 deploy/apply (apply, timeout 600 s): puppet apply /m.pp";

    [Fact]
    public void AppendLines_StepHeaderAndOutput_EventIdsAreEndOffsetsAndOnlyTheHeaderIsAStepEvent()
    {
        var frames = new StringBuilder(LiveLogFrames.Opening(7, 100));
        LiveLogFrames.AppendLines(frames, [new LogLine(Header, 200), new LogLine("2026-01-02T03:04:06.000Z out Notice: a\rb", 241)]);
        frames.Append(LiveLogFrames.Comment("no new\nlines"));
        frames.Append(LiveLogFrames.End(JobResult.Failure, "failure: step 'apply' \"quoted\"\nsecond line"));

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(frames.ToString()));
        SseParser<string> parser = SseParser.Create(stream);
        List<SseItem<string>> events = parser.Enumerate().ToList();

        Assert.Equal(
            [("step", "200", Header), ("message", "241", "2026-01-02T03:04:06.000Z out Notice: ab"), ("end", null, null)],
            events.Select(e => (e.EventType, e.EventId, e.EventType == "end" ? null : e.Data)));
        using JsonDocument end = JsonDocument.Parse(events[^1].Data);
        Assert.Equal("failure", end.RootElement.GetProperty("result").GetString());
        Assert.Equal("failure: step 'apply' \"quoted\"\nsecond line", end.RootElement.GetProperty("summary").GetString());
        Assert.Equal(("241", TimeSpan.FromMilliseconds(LiveLogFrames.RetryMilliseconds)), (parser.LastEventId, parser.ReconnectionInterval));
    }

    [Theory]
    [InlineData(null, null, 0L)]
    [InlineData(null, "512", 512L)]
    [InlineData("1024", "512", 1024L)]
    public void StartOffset_LastEventIdWinsOverFrom(string? lastEventId, string? from, long expected)
    {
        Assert.Equal(expected, LiveLogFrames.StartOffset(lastEventId, from, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("-5", null, "Last-Event-ID '-5' is not a byte offset")]
    [InlineData(null, "end", "from 'end' is not a byte offset")]
    public void StartOffset_NotAByteOffset_SaysWhichValueAndWhatToGive(string? lastEventId, string? from, string start)
    {
        Assert.Null(LiveLogFrames.StartOffset(lastEventId, from, out string? error));
        Assert.StartsWith(start, error, StringComparison.Ordinal);
        Assert.EndsWith("give a whole number from 0, as the stream's event ids are.", error, StringComparison.Ordinal);
    }
}
