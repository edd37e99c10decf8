using System.Text;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using CiRunner.Web;

namespace CiRunner.Tests.Web;

/// <summary>Logs are found by job id through the store, read while the executor still writes, and cut to their end for the page.</summary>
public sealed class JobLogsTests : IDisposable
{
    private readonly TempDatabase _database = new();
    private readonly ResultsStore _store;
    private readonly JobLogs _logs;

    public JobLogsTests()
    {
        _store = _database.CreateStore();
        _logs = new JobLogs(_store.Jobs, _database.Paths);
    }

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task OpenAsync_LogStillBeingWritten_ReadsWhatIsThere()
    {
        (long jobId, string path) = await StartJobAsync(logPathFor: (run, job) => _database.Paths.JobLogFile(run, job));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var writer = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        await writer.WriteAsync(Encoding.UTF8.GetBytes("first line\n"));
        await writer.FlushAsync();

        await using FileStream? reader = await _logs.OpenAsync(jobId, CancellationToken.None);

        Assert.NotNull(reader);
        using var text = new StreamReader(reader);
        Assert.Equal("first line\n", await text.ReadToEndAsync());
    }

    [Fact]
    public async Task OpenAsync_StoredPathOutsideTheDataDirectory_IsNotServed()
    {
        (long jobId, _) = await StartJobAsync(logPathFor: (_, _) => "/etc/passwd");

        Assert.Null(await _logs.OpenAsync(jobId, CancellationToken.None));
        Assert.Null(await _logs.OpenAsync(jobId + 1000, CancellationToken.None));
    }

    [Fact]
    public async Task ReadTailAsync_LongLog_ReturnsWholeLinesFromItsEnd()
    {
        (long jobId, string path) = await StartJobAsync(logPathFor: (run, job) => _database.Paths.JobLogFile(run, job));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllLinesAsync(path, Enumerable.Range(1, 10_000).Select(i => $"line {i:D5}"));

        JobLogTail? tail = await _logs.ReadTailAsync(jobId, 1000, wholeLinesOnly: false, CancellationToken.None);

        Assert.NotNull(tail);
        Assert.True(tail.Truncated);
        Assert.StartsWith("line ", tail.Text, StringComparison.Ordinal);
        Assert.EndsWith("line 10000\n", tail.Text, StringComparison.Ordinal);
        Assert.True(tail.Text.Length <= 1000);
        Assert.Equal(new FileInfo(path).Length, tail.End);
    }

    [Fact]
    public async Task ReadTailAsync_RunningJobInTheMiddleOfALine_EndsAtTheLastLineBreakWhereTheLiveLogGoesOn()
    {
        (long jobId, string path) = await StartJobAsync(logPathFor: (run, job) => _database.Paths.JobLogFile(run, job));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "== step 1/1 deploy/apply\nNotice: half a li");

        JobLogTail? running = await _logs.ReadTailAsync(jobId, 1000, wholeLinesOnly: true, CancellationToken.None);
        JobLogTail? finished = await _logs.ReadTailAsync(jobId, 1000, wholeLinesOnly: false, CancellationToken.None);

        Assert.Equal(new JobLogTail("== step 1/1 deploy/apply\n", false, 25), running);
        Assert.Equal(new JobLogTail("== step 1/1 deploy/apply\nNotice: half a li", false, 42), finished);
    }

    private async Task<(long JobId, string Path)> StartJobAsync(Func<long, long, string> logPathFor)
    {
        RunDetail run = await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        string path = logPathFor(run.Run.Id, jobId);
        Assert.True(await _store.Jobs.MarkStartedAsync(jobId, null, path, CancellationToken.None));
        return (jobId, path);
    }
}
