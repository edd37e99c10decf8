using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;

namespace CiRunner.Cli;

/// <summary>
/// <c>cirunner replay JOB-ID</c>: runs one stored job again, in the foreground like <c>run</c>, from its lockfile
/// alone (the same module commits from the mirrors, the same image id, the same scenario text and steps), as a run
/// with cause <c>replay</c>, and says whether the result matches the original's.
/// </summary>
internal static class ReplayCommand
{
    /// <summary>Exit code when the replay ended as the original did.</summary>
    public const int Matches = 0;

    /// <summary>Exit code when it ended otherwise: the result is not reproducible (a flake, or something outside the lockfile).</summary>
    public const int Differs = 1;

    public static Command Create()
    {
        var jobId = new Argument<long>("job-id")
        {
            Description = "The job to replay, as 'cirunner show RUN-ID' lists it.",
            CustomParser = CliValues.Id("a job", "'cirunner show RUN-ID'"),
        };

        var command = new Command(
            "replay",
            "Run a job again from its lockfile alone (same commits, image id and scenario text), in the foreground; exit 0 when the result matches the original's, 1 when it differs, 2 when it could not run as the original did.");
        command.Arguments.Add(jobId);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, parseResult.GetValue(jobId), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, long jobId, CancellationToken cancellationToken)
    {
        TextWriter output = TextWriter.Synchronized(parseResult.InvocationConfiguration.Output);
        TextWriter error = parseResult.InvocationConfiguration.Error;
        if (!ConfigurationLoader.TryLoad(GlobalOptions.ResolveConfigPath(parseResult), error, out CiRunnerSettings? settings))
        {
            return RunCommand.NothingRan;
        }

        await using ServiceProvider provider = await ForegroundServices.StartAsync(settings, cancellationToken);
        JobStore jobs = provider.GetRequiredService<JobStore>();

        ReplayOutcome outcome = await ReplayTrigger.CreateRunAsync(provider.GetRequiredService<RunStore>(), jobs, jobId, Environment.UserName, cancellationToken);
        if (outcome.Run is not { } run)
        {
            await error.WriteLineAsync(outcome.Message.AsMemory(), cancellationToken);
            return RunCommand.NothingRan;
        }

        JobRecord original = (await jobs.GetAsync(jobId, cancellationToken))!;
        await output.WriteLineAsync(
            $"Run {run.Run.Id}: replay of job {jobId} ({original.CellKey}, {ResultsText.Status(original)}) from its lockfile; Ctrl+C cancels".AsMemory(), cancellationToken);

        JobRecord replayed;
        await using (RunProgressView view = RunProgressView.Create(parseResult.InvocationConfiguration.Output, Console.Out, TimeProvider.System))
        {
            await view.StartAsync(run.Jobs, cancellationToken);
            using var slots = new SemaphoreSlim(1);
            replayed = await RunCommand.RunJobAsync(provider, run.Run, run.Jobs[0], null, slots, view, cancellationToken);
        }

        ReplayComparison comparison = ReplayComparison.Of(replayed, original)!;
        await output.WriteLineAsync(string.Empty.AsMemory(), CancellationToken.None);
        await output.WriteLineAsync($"Job {replayed.Id}: {ResultsText.Status(replayed)}; {comparison}; details: cirunner show {run.Run.Id}".AsMemory(), CancellationToken.None);
        if (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("Cancelled by Ctrl+C.".AsMemory(), CancellationToken.None);
            return RunCommand.Cancelled;
        }

        if (comparison.Matches == true)
        {
            return Matches;
        }

        // An error the original did not have is the replay failing to run as the original did (an image or a commit
        // gone): its summary is the one line that says which and how to bring it back.
        if (replayed.Result == JobResult.Error && original.Result != JobResult.Error)
        {
            await error.WriteLineAsync($"Replay of job {jobId} could not run as it did: {replayed.Summary?.ReplaceLineEndings(" ")}".AsMemory(), CancellationToken.None);
            return RunCommand.NothingRan;
        }

        return Differs;
    }
}
