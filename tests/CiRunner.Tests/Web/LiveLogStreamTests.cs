using System.Net;
using System.Net.ServerSentEvents;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.Web;

/// <summary>
/// The live log over HTTP, read with a real HttpClient and .NET's Server-Sent Events parser, against the real service
/// host; the test plays the executor (it writes the log file and marks the job in the store), so each step is in its
/// hands. The real executor's part is in <c>LiveLogTests</c> (Docker).
/// </summary>
[Trait("Category", "Service")]
public sealed class LiveLogStreamTests : IAsyncLifetime, IDisposable
{
    private const string StepHeader = "2026-01-02T03:04:05.000Z == step 1/1 deploy/check (command, timeout 60 s): sh -c 'echo hi'";

    private readonly ConfigFolder _folder = new();
    private readonly GitRemote _remote = new();
    private readonly int _port = FreePort.Next();
    private WebApplication? _app;
    private HttpClient _client = null!;
    private JobStore _jobs = null!;

    public async Task InitializeAsync()
    {
        CiRunnerSettings settings = _folder.LoadLocalSite(_remote, _port);
        _app = await InProcessHost.StartAsync(settings);
        _jobs = _app.Services.GetRequiredService<JobStore>();

        // Recovery closes the running jobs an earlier process left; the jobs these tests mark running come after it.
        await _app.Services.GetRequiredService<JobDispatcher>().Recovered.WaitAsync(TimeSpan.FromSeconds(60));
        _client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await InProcessHost.StopAsync(_app);
    }

    public void Dispose()
    {
        _remote.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Stream_RunningJobWrittenToThenFinished_SendsEachLineAsItIsWrittenThenTheEndWithTheResult()
    {
        // Given a running job whose log has its first lines
        long job = await NewJobAsync();
        string log = await StartAsync(job, $"2026-01-02T03:04:04.000Z == job {job}\n{StepHeader}\n");
        using HttpResponseMessage response = await _client.GetAsync(new Uri($"api/jobs/{job}/log/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.StatusCode == HttpStatusCode.OK, response.StatusCode == HttpStatusCode.OK ? "" : $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        await using IAsyncEnumerator<SseItem<string>> events = SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator();

        // When the lines there are read, then one more is written while the job runs, then the job ends
        List<SseItem<string>> first = [await NextAsync(events), await NextAsync(events)];
        await File.AppendAllTextAsync(log, "2026-01-02T03:04:06.000Z out hi\n");
        SseItem<string> written = await NextAsync(events);
        await _jobs.MarkFinishedAsync(job, JobResult.Failure, "failure: step 'check' (command, phase deploy) exited 1", CancellationToken.None);
        SseItem<string> end = await NextAsync(events);

        // Then each line came as an event whose id is where it ends in the file, the step header as a step event
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        byte[] file = await File.ReadAllBytesAsync(log);
        Assert.Equal(
            [("message", $"2026-01-02T03:04:04.000Z == job {job}"), ("step", StepHeader), ("message", "2026-01-02T03:04:06.000Z out hi")],
            first.Append(written).Select(e => (e.EventType, e.Data)));
        Assert.Equal(
            LineEnds(file).Select(e => e.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            first.Append(written).Select(e => e.EventId));
        Assert.Equal("end", end.EventType);
        using JsonDocument result = JsonDocument.Parse(end.Data);
        Assert.Equal(("failure", "failure: step 'check' (command, phase deploy) exited 1"), (result.RootElement.GetProperty("result").GetString(), result.RootElement.GetProperty("summary").GetString()));
        Assert.False(await events.MoveNextAsync(), "the stream goes on after the end event");
    }

    [Fact]
    public async Task Stream_LastEventIdOfALineSeenBefore_ResumesWithTheNextLineWithoutRepeatingAny()
    {
        long job = await NewJobAsync();
        await StartAsync(job, "one\ntwo\nthree\n");
        await _jobs.MarkFinishedAsync(job, JobResult.Success, "success", CancellationToken.None);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"jobs/{job}/log/stream?from=0", UriKind.Relative));
        request.Headers.Add("Last-Event-ID", "4");

        using HttpResponseMessage response = await _client.SendAsync(request);
        List<SseItem<string>> events = SseParser.Create(await response.Content.ReadAsStreamAsync()).Enumerate().ToList();

        Assert.Equal([("message", "two", "8"), ("message", "three", "14"), ("end", """{"result":"success","summary":"success"}""", null)], events.Select(e => (e.EventType, e.Data, e.EventId)));
    }

    [Fact]
    public async Task Stream_QueuedJob_WaitsForItToStartInsteadOfFailing()
    {
        long job = await NewJobAsync();
        using HttpResponseMessage response = await _client.GetAsync(new Uri($"jobs/{job}/log/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        await using IAsyncEnumerator<SseItem<string>> events = SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator();

        // The answer came while the job was queued; it starts and ends afterwards
        HttpStatusCode status = response.StatusCode;
        await StartAsync(job, "started\n");
        SseItem<string> line = await NextAsync(events);
        await _jobs.MarkFinishedAsync(job, JobResult.Success, "success", CancellationToken.None);
        SseItem<string> end = await NextAsync(events);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("started", "end"), (line.Data, end.EventType));
    }

    [Fact]
    public async Task Stream_ServiceStopsWhileAJobIsFollowed_EndsTheStreamInsteadOfHoldingTheStop()
    {
        long job = await NewJobAsync();
        await StartAsync(job, "running\n");
        using HttpResponseMessage response = await _client.GetAsync(new Uri($"jobs/{job}/log/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        await using IAsyncEnumerator<SseItem<string>> events = SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator();
        Assert.Equal("running", (await NextAsync(events)).Data);

        // The host's stop waits up to Service:DrainTimeout (5 minutes here) plus teardown for what is still open
        WebApplication app = _app!;
        _app = null;
        await InProcessHost.StopAsync(app).WaitAsync(TimeSpan.FromSeconds(60));

        // Then the stream has ended (with the end event when the stop closed the job first)
        var after = new List<string?>();
        while (await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)))
        {
            after.Add(events.Current.EventType);
        }

        Assert.True(after.Count == 0 || after.SequenceEqual(["end"]), string.Join(", ", after));
    }

    [Fact]
    public async Task Stream_UnknownJobOrAnOffsetThatIsNotOne_AnswersWithOneLineSayingWhat()
    {
        long job = await NewJobAsync();
        using var badOffset = new HttpRequestMessage(HttpMethod.Get, new Uri($"api/jobs/{job}/log/stream", UriKind.Relative));
        badOffset.Headers.Add("Last-Event-ID", "latest");

        using HttpResponseMessage unknown = await _client.GetAsync(new Uri("api/jobs/99999/log/stream", UriKind.Relative));
        using HttpResponseMessage refused = await _client.SendAsync(badOffset);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("Job 99999 does not exist.", await ErrorAsync(unknown));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("Last-Event-ID 'latest' is not a byte offset of the log: give a whole number from 0, as the stream's event ids are.", await ErrorAsync(refused));
    }

    [Fact]
    public async Task JobPage_RunningJob_FollowsTheStreamFromWhereItsTextEndsWithTheOneScriptThePolicyAllows()
    {
        long running = await NewJobAsync();
        await StartAsync(running, $"{StepHeader}\nout half a li");
        long finished = await NewJobAsync();
        await StartAsync(finished, $"{StepHeader}\nout done\n");
        await _jobs.MarkFinishedAsync(finished, JobResult.Success, "success", CancellationToken.None);

        using HttpResponseMessage page = await _client.GetAsync(new Uri($"jobs/{running}", UriKind.Relative));
        string html = await page.Content.ReadAsStringAsync();
        string finishedHtml = await _client.GetStringAsync(new Uri($"jobs/{finished}", UriKind.Relative));

        // The page shows the whole lines and streams from the end of the last one; the half line comes with the stream
        int headerBytes = Encoding.UTF8.GetByteCount(StepHeader) + 1;
        Assert.Contains(
            $"<pre class=\"log\" id=\"log\" data-stream=\"/jobs/{running}/log/stream?from={headerBytes}\"><span class=\"step\">{StepHeader}\n</span></pre>",
            WebUtility.HtmlDecode(html),
            StringComparison.Ordinal);
        Assert.DoesNotContain("half a li", html, StringComparison.Ordinal);

        // Its one script is the one the policy's hash allows; without script, the page reloads itself
        string policy = page.Headers.GetValues("Content-Security-Policy").Single();
        string script = html[(html.IndexOf("<script>", StringComparison.Ordinal) + "<script>".Length)..html.IndexOf("</script>", StringComparison.Ordinal)];
        Assert.Equal($"script-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(script)))}'; object-src 'none'; base-uri 'none'", policy);
        Assert.Contains("<noscript><meta http-equiv=\"refresh\" content=\"5\" /></noscript>", html, StringComparison.Ordinal);

        // A finished job's page has neither the stream nor the script, and marks its step headers the same way
        Assert.DoesNotContain("<script", finishedHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("data-stream", finishedHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("http-equiv=\"refresh\"", finishedHtml, StringComparison.Ordinal);
        Assert.Contains("<pre class=\"log\" id=\"log\"><span class=\"step\">", finishedHtml, StringComparison.Ordinal);
        Assert.Contains("\n</span>out done\n</pre>", WebUtility.HtmlDecode(finishedHtml), StringComparison.Ordinal);
        Assert.Contains(LiveLogScript.Element.Value, html, StringComparison.Ordinal);
    }

    private async Task<long> NewJobAsync()
    {
        RunDetail run = await _app!.Services.GetRequiredService<RunStore>().CreateAsync(
            new NewRun(RunCause.Manual, "keystone", "master", new string('a', 40)), [new NewJob("zed/basic", JobKind.Deploy, "zed", null, "basic")], CancellationToken.None);
        return run.Jobs[0].Id;
    }

    /// <summary>Writes the job's log and marks it running, as the executor does when its container starts.</summary>
    private async Task<string> StartAsync(long job, string text)
    {
        string log = _folder.Write($"data/logs/live-{job}.log", text);
        Assert.True(await _jobs.MarkStartedAsync(job, "sha256:" + new string('b', 64), log, CancellationToken.None));
        return log;
    }

    private static IEnumerable<long> LineEnds(byte[] file)
    {
        for (int i = 0; i < file.Length; i++)
        {
            if (file[i] == (byte)'\n')
            {
                yield return i + 1;
            }
        }
    }

    private static async Task<SseItem<string>> NextAsync(IAsyncEnumerator<SseItem<string>> events)
    {
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)), "the stream ended early");
        return events.Current;
    }

    private static async Task<string?> ErrorAsync(HttpResponseMessage response)
    {
        using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetString();
    }
}
