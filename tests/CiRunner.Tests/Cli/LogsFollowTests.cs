using CiRunner.Cli;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;

namespace CiRunner.Tests.Cli;

/// <summary>
/// <c>cirunner logs --follow</c> on a real SQLite store and log file, the test playing the executor: it waits for a
/// queued job, prints each line once as it is written, and exits by how the job ended, or with 130 on Ctrl+C.
/// </summary>
public sealed class LogsFollowTests : IDisposable
{
    private readonly TempDatabase _database = new();
    private readonly ResultsStore _store;
    private readonly StringWriter _outputText = new();
    private readonly StringWriter _errorText = new();
    private readonly TextWriter _output;
    private readonly TextWriter _error;

    public LogsFollowTests()
    {
        _store = _database.CreateStore();
        _output = TextWriter.Synchronized(_outputText);
        _error = TextWriter.Synchronized(_errorText);
    }

    public void Dispose()
    {
        _output.Dispose();
        _error.Dispose();
        _outputText.Dispose();
        _errorText.Dispose();
        _database.Dispose();
    }

    [Theory]
    [InlineData(JobResult.Success, 0)]
    [InlineData(JobResult.Failure, LogsCommand.JobDidNotPass)]
    public async Task Follow_QueuedJobThatStartsWritesAndEnds_PrintsEveryLineOnceAndExitsByItsResult(JobResult result, int exitCode)
    {
        // Given a queued job followed from before it starts
        long job = (await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None)).Jobs[0].Id;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Task<int> following = LogsCommand.FollowAsync(_store, _database.Paths, job, "90d", TimeProvider.System, _output, _error, timeout.Token);
        await Eventually.TrueAsync("the wait to be announced", () => Task.FromResult(Error.Contains("waiting", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), () => Ended(following));

        // When it starts, writes a line, a part of the next, the rest, and ends
        string log = Path.Combine(_database.Paths.Root, "logs", $"{job}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, "== job started\nout hal");
        Assert.True(await _store.Jobs.MarkStartedAsync(job, null, log, CancellationToken.None));
        await Eventually.TrueAsync("the first line", () => Task.FromResult(Output.Contains("== job started", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), () => Ended(following));
        await File.AppendAllTextAsync(log, "f a line\n== job finished\n");
        await _store.Jobs.MarkFinishedAsync(job, result, result.ToWire(), CancellationToken.None);
        int exit = await following.WaitAsync(TimeSpan.FromSeconds(30));

        // Then the output is the log as it is on disk, and the exit code says whether the job passed
        Assert.Equal(await File.ReadAllTextAsync(log), Output);
        Assert.Equal(exitCode, exit);
        Assert.Equal($"Job {job} is queued: waiting for it to start (Ctrl+C stops waiting; the job stays queued).", Error.TrimEnd());
    }

    [Fact]
    public async Task Follow_CtrlCWhileTheJobRuns_StopsWith130AndSaysHowToFollowAgain()
    {
        long job = (await _store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None)).Jobs[0].Id;
        string log = Path.Combine(_database.Paths.Root, "logs", $"{job}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, "== job started\n");
        Assert.True(await _store.Jobs.MarkStartedAsync(job, null, log, CancellationToken.None));
        using var ctrlC = new CancellationTokenSource();

        Task<int> following = LogsCommand.FollowAsync(_store, _database.Paths, job, "90d", TimeProvider.System, _output, _error, ctrlC.Token);
        await Eventually.TrueAsync("the first line", () => Task.FromResult(Output.Contains("== job started", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), () => Ended(following));
        await ctrlC.CancelAsync();

        Assert.Equal(RunCommand.Cancelled, await following.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($"Stopped following job {job} (Ctrl+C); the job goes on: cirunner logs --follow {job} follows it again.", Error.TrimEnd());
    }

    /// <summary>What was printed so far; the synchronized writer locks itself while it writes.</summary>
    private string Output
    {
        get
        {
            lock (_output)
            {
                return _outputText.ToString();
            }
        }
    }

    private string Error
    {
        get
        {
            lock (_error)
            {
                return _errorText.ToString();
            }
        }
    }

    /// <summary>For a wait's failure: how the follow ended when it did before the wait was over.</summary>
    private string Ended(Task<int> following) =>
        !following.IsCompleted ? $"still following; stderr: {Error}" : following.IsFaulted ? following.Exception!.ToString() : $"exited {following.Result}; stderr: {Error}";
}
