using System.CommandLine;
using CiRunner.Cli;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;

namespace CiRunner.Tests.Cli;

/// <summary><c>runs</c> and <c>show</c> on a run whose cell was retried: counted once, by its latest attempt, with the history shown.</summary>
public sealed class AttemptsVerbsTests : IDisposable
{
    private readonly TempDatabase _temp = new();
    private readonly string _config;

    public AttemptsVerbsTests()
    {
        _config = _temp.WriteConfig();
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task RunsAndShow_RetriedCell_CountTheLatestAttemptAndShowTheEarlierOne()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy(), Samples.Deploy("2024.2")], CancellationToken.None);
        await store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, null, CancellationToken.None);
        JobRecord retry = (await store.Jobs.FinishAllRunningAsync(JobResult.Interrupted, "The service stopped while this job ran.", 3, CancellationToken.None))[0].Retry!;
        await store.Jobs.MarkFinishedAsync(retry.Id, JobResult.Success, "success: 1 step(s) passed", CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Success, "success: 1 step(s) passed", CancellationToken.None);

        (int runsExit, string runs) = await InvokeAsync("runs");
        (int showExit, string show) = await InvokeAsync("show", run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal((0, 0), (runsExit, showExit));
        Assert.Contains("success  2/2", runs, StringComparison.Ordinal);
        Assert.Contains("  Result:     success (2/2 jobs passed; 1 earlier attempt retried)", show, StringComparison.Ordinal);
        Assert.Contains("interrupted, retried", show, StringComparison.Ordinal);
        Assert.Contains("2024.1/scenario001 (attempt 2)", show, StringComparison.Ordinal);
        Assert.Contains($"Job {retry.Id}: 2024.1/scenario001 (deploy 2024.1, scenario001, attempt 2, retry of job {run.Jobs[0].Id})", show, StringComparison.Ordinal);
        Assert.Contains($"Retried as job {retry.Id} (attempt 2 of 3).", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_FlakeReRun_SaysItReRanTheFailedJobOnTheSameLockfile()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long failed = run.Jobs[0].Id;
        await store.Jobs.MarkStartedAsync(failed, null, null, CancellationToken.None);
        JobRecord rerun = (await store.Jobs.MarkFinishedAsync(
            failed, new JobEnd(JobResult.Failure, "failure: step 'apply' (apply, phase deploy): puppet apply exited 4") { FlakeReruns = 1 }, CancellationToken.None))!.Retry!;
        await store.Jobs.MarkStartedAsync(rerun.Id, null, null, CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(rerun.Id, new JobEnd(JobResult.Success, "success: 1 step(s) passed") { FlakeReruns = 1 }, CancellationToken.None);

        (int exit, string show) = await InvokeAsync("show", run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var progress = new StringWriter();
        await new PlainRunProgressView(progress).RetriedAsync(rerun);

        Assert.Equal(0, exit);
        Assert.Contains($"Job {rerun.Id}: 2024.1/scenario001 (deploy 2024.1, scenario001, attempt 2, re-run of job {failed} on the same lockfile)", show, StringComparison.Ordinal);
        Assert.Equal($"  job {rerun.Id}  2024.1/scenario001  queued (attempt 2, re-run of job {failed} on the same lockfile)", progress.ToString().TrimEnd());
    }

    private async Task<(int ExitCode, string Output)> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(["--config", _config, .. args], new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output + error.ToString());
    }
}
