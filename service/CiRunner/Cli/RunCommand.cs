using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;
using LibGit2Sharp;

namespace CiRunner.Cli;

/// <summary>
/// <c>cirunner run</c>: the maintainer's tool. Runs one module's matrix (or part of it) now, in the foreground,
/// without the service: same configuration, database, executor and recorder, so the run shows up in
/// <c>runs</c>/<c>show</c>/<c>logs</c> and the dashboard like any other (cause <c>manual</c>).
/// </summary>
internal static class RunCommand
{
    /// <summary>Exit code when nothing ran: a bad option, an unknown ref, or no cell to run.</summary>
    public const int NothingRan = 2;

    /// <summary>Exit code after Ctrl+C (SIGINT) cancelled the run, as shells report 128 + SIGINT.</summary>
    public const int Cancelled = 130;

    public static Command Create()
    {
        var module = new Option<string>("--module", "-m")
        {
            Description = "The module under test (short name, e.g. keystone).",
            Required = true,
            CustomParser = CliValues.NonBlank("a module's short name, like keystone"),
        };
        var reference = new Option<string>("--ref", "-r")
        {
            Description = "A branch or commit of the module's repository, or a local working-copy path (tested as it is, uncommitted changes included).",
            Required = true,
            CustomParser = CliValues.NonBlank("a branch, a commit or a working-copy path, like stable/2024.1"),
        };
        var release = new Option<string?>("--release")
        {
            Description = "Only cells of this release (the upgrade target); a release the branch does not map to runs as a compatibility cell.",
            CustomParser = CliValues.NonBlank("a configured release, like 2024.1"),
        };
        var scenario = new Option<string?>("--scenario", "-s")
        {
            Description = "Only cells of this scenario.",
            CustomParser = CliValues.NonBlank("a scenario's name, like scenario001"),
        };
        var upgrade = new Option<bool>("--upgrade") { Description = "Also run the upgrade cells (from the previous release, and the SLURP skip-level path)." };
        var rollback = new Option<bool>("--rollback") { Description = "Also run rollback cells (upgrade, then back to the from-release's module set)." };

        var command = new Command("run", "Run a module's cells now, in the foreground, with progress; exit 0 only when every cell passed.");
        foreach (Option option in new Option[] { module, reference, release, scenario, upgrade, rollback })
        {
            command.Options.Add(option);
        }

        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult,
            new RunRequest(parseResult.GetValue(module)!, parseResult.GetValue(reference)!, parseResult.GetValue(release), parseResult.GetValue(scenario),
                parseResult.GetValue(upgrade), parseResult.GetValue(rollback)),
            cancellationToken));
        return command;
    }

    private sealed record RunRequest(string Module, string Ref, string? Release, string? Scenario, bool Upgrade, bool Rollback);

    /// <summary>What <c>--ref</c> named: a branch and commit, and for a local path the working copy to copy in.</summary>
    private sealed record ResolvedRef(string Branch, string CommitSha, DirectoryModuleSource? WorkingCopy);

    private static async Task<int> RunAsync(ParseResult parseResult, RunRequest request, CancellationToken cancellationToken)
    {
        TextWriter output = TextWriter.Synchronized(parseResult.InvocationConfiguration.Output);
        TextWriter error = parseResult.InvocationConfiguration.Error;
        if (!ConfigurationLoader.TryLoad(GlobalOptions.ResolveConfigPath(parseResult), error, out CiRunnerSettings? settings))
        {
            return NothingRan;
        }

        TrackedModule? module = settings.FindModule(request.Module);
        Release? release = request.Release is null ? null : settings.FindRelease(request.Release);
        string? problem = module is null ? $"--module: '{request.Module}' is not configured; configured: {string.Join(", ", settings.Modules.Select(m => m.Name))}"
            : request.Release is not null && release is null ? $"--release: '{request.Release}' is not configured; configured: {string.Join(", ", settings.Releases.Select(r => r.Name))}"
            : request.Scenario is not null && settings.FindScenario(request.Scenario) is null ? $"--scenario: '{request.Scenario}' is not in {settings.Service.ScenariosDirectory}"
            : null;
        if (problem is not null)
        {
            await error.WriteLineAsync(problem.AsMemory(), cancellationToken);
            return NothingRan;
        }

        (ResolvedRef? resolved, string? refProblem) = await ResolveRefAsync(settings, module!, request.Ref, release, cancellationToken);
        if (resolved is null)
        {
            await error.WriteLineAsync(refProblem.AsMemory(), cancellationToken);
            return NothingRan;
        }

        List<Cell> cells = SelectCells(settings, module!, resolved.Branch, request);
        if (cells.Count == 0)
        {
            await error.WriteLineAsync($"No cells to run for {module!.Name} {resolved.Branch}{Filters(request)}; see cirunner matrix --module {module.Name} --branch {resolved.Branch}.".AsMemory(), cancellationToken);
            return NothingRan;
        }

        await using ServiceProvider provider = await ForegroundServices.StartAsync(settings, cancellationToken);
        RunStore runs = provider.GetRequiredService<RunStore>();

        RunDetail run = await runs.CreateAsync(
            new NewRun(RunCause.Manual, module!.Name, resolved.Branch, resolved.CommitSha, RequestedBy: Environment.UserName),
            cells.Select(cell => new NewJob(cell.Key, cell.Kind, cell.Release, cell.FromRelease, cell.Scenario, JobPriorities.For(RunCause.Manual))).ToList(),
            cancellationToken);
        string source = resolved.WorkingCopy is null ? ResultsText.ShortSha(resolved.CommitSha) : $"working copy {resolved.WorkingCopy.DirectoryPath}";
        await output.WriteLineAsync($"Run {run.Run.Id}: {module.Name} {resolved.Branch} ({source}), {cells.Count} {(cells.Count == 1 ? "cell" : "cells")}, {settings.Docker.ParallelJobs} at a time; Ctrl+C cancels".AsMemory(), cancellationToken);

        JobRecord[] finished;
        await using (RunProgressView view = RunProgressView.Create(parseResult.InvocationConfiguration.Output, Console.Out, TimeProvider.System))
        {
            await view.StartAsync(run.Jobs, cancellationToken);
            using var slots = new SemaphoreSlim(settings.Docker.ParallelJobs);
            Task<JobRecord>[] running = run.Jobs.Select(job => RunJobAsync(provider, run.Run, job, resolved.WorkingCopy, slots, view, cancellationToken)).ToArray();
            finished = await Task.WhenAll(running);
        }

        await output.WriteLineAsync(string.Empty.AsMemory(), CancellationToken.None);
        var table = new TextTable("JOB", "CELL", "RESULT", "DURATION", "LOG");
        foreach (JobRecord job in finished)
        {
            string log = job.LogPath is null ? ResultsText.None : LogsCommand.ResolveLogPath(settings.DataPaths, job.LogPath);
            table.AddRow(ResultsText.Number(job.Id), job.CellKey, ResultsText.Status(job), ResultsText.Duration(job.Duration), log);
        }

        await table.WriteAsync(output, "", CancellationToken.None);
        int passed = finished.Count(job => job.Result?.Passed() == true);
        await output.WriteLineAsync($"{passed}/{finished.Length} cells passed; details: cirunner show {run.Run.Id}".AsMemory(), CancellationToken.None);
        if (cancellationToken.IsCancellationRequested)
        {
            // Every container is removed by now: the executor kills and removes a cancelled job's container before it returns.
            await error.WriteLineAsync($"Cancelled by Ctrl+C: {finished.Count(job => job.Result == JobResult.Cancelled)} of {finished.Length} cells cancelled.".AsMemory(), CancellationToken.None);
            return Cancelled;
        }

        return passed == finished.Length ? 0 : 1;
    }

    private static List<Cell> SelectCells(CiRunnerSettings settings, TrackedModule module, string branch, RunRequest request)
    {
        MatrixRules rules = settings.Matrix with { Rollback = settings.Matrix.Rollback || request.Rollback };
        if (request.Release is { } wanted && !settings.FindRelease(wanted)!.BranchCandidates.Contains(branch, StringComparer.Ordinal)
            && BranchPattern.TryParse(branch, out BranchPattern? exact))
        {
            // Asked for a release the branch does not map to: that is a compatibility cell.
            rules = rules with { CompatibilityCells = [.. rules.CompatibilityCells, new CompatibilityCell(exact, wanted)] };
        }

        return CellExpansion.Expand(module, branch, settings.Releases, settings.Scenarios, rules)
            .Where(cell => cell.Kind == JobKind.Deploy || (cell.Kind == JobKind.Upgrade && request.Upgrade) || (cell.Kind == JobKind.Rollback && request.Rollback))
            .Where(cell => request.Release is null || cell.Release == request.Release)
            .Where(cell => request.Scenario is null || cell.Scenario == request.Scenario)
            .ToList();
    }

    private static string Filters(RunRequest request) =>
        (request.Release is null ? "" : $" on release {request.Release}") + (request.Scenario is null ? "" : $" with scenario {request.Scenario}");

    private static async Task<(ResolvedRef? Resolved, string? Problem)> ResolveRefAsync(
        CiRunnerSettings settings, TrackedModule module, string reference, Release? release, CancellationToken cancellationToken)
    {
        if (Directory.Exists(reference))
        {
            return ResolveWorkingCopy(module, Path.GetFullPath(reference), release);
        }

        using var mirrors = new ModuleMirrors(settings.DataPaths);
        try
        {
            await mirrors.FetchAsync(module, cancellationToken);
        }
        catch (Exception e) when (e is LibGit2SharpException or IOException)
        {
            return (null, $"Could not fetch {module.Name} from {UrlCredentials.Redact(module.Url)}: {e.Message}");
        }

        if (await mirrors.FindBranchHeadAsync(module, reference, cancellationToken) is { } head)
        {
            return (new ResolvedRef(reference, head, null), null);
        }

        string? commit = await mirrors.FindCommitAsync(module, reference, cancellationToken);
        if (commit is null)
        {
            return (null, $"--ref: '{reference}' is neither a branch nor a commit of {module.Name} ({UrlCredentials.Redact(module.Url)}), nor a local directory");
        }

        // A commit is tested on the branch of the release asked for, else on a branch that contains it and maps to a release.
        string? branch = release is not null ? module.BranchFor(release) ?? release.BranchCandidates[0]
            : (await mirrors.BranchesContainingAsync(module, commit, cancellationToken))
                .FirstOrDefault(b => settings.Releases.Any(r => r.BranchCandidates.Contains(b, StringComparer.Ordinal)));
        return branch is null
            ? (null, $"--release: not given, and commit {ResultsText.ShortSha(commit)} of {module.Name} is on no branch that maps to a release; give the release to test it on")
            : (new ResolvedRef(branch, commit, null), null);
    }

    private static (ResolvedRef? Resolved, string? Problem) ResolveWorkingCopy(TrackedModule module, string path, Release? release)
    {
        string? branch = null;
        string commit = "working-copy";
        if (Repository.IsValid(path))
        {
            using var repository = new Repository(path);
            commit = repository.Head.Tip?.Sha ?? commit;
            branch = repository.Info.IsHeadDetached ? null : repository.Head.FriendlyName;
        }

        if (release is not null)
        {
            branch = module.BranchFor(release) ?? release.BranchCandidates[0];
        }

        return branch is null
            ? (null, $"--release: not given, and {path} is not on a branch; give the release to test it on")
            : (new ResolvedRef(branch, commit, new DirectoryModuleSource(module.Name, path)), null);
    }

    /// <summary>Runs a cell, and again while it ends in a transient error with attempts left; returns its latest attempt.</summary>
    internal static async Task<JobRecord> RunJobAsync(
        IServiceProvider provider, RunRecord run, JobRecord job, DirectoryModuleSource? workingCopy, SemaphoreSlim slots, RunProgressView view, CancellationToken cancellationToken)
    {
        JobStore jobs = provider.GetRequiredService<JobStore>();
        JobRecord attempt = job;
        while (true)
        {
            (JobRecord done, JobRecord? retry) = await RunAttemptAsync(provider, jobs, run, attempt, workingCopy, slots, view, cancellationToken);
            if (retry is null)
            {
                return done;
            }

            await view.RetriedAsync(retry);
            attempt = retry;
        }
    }

    private static async Task<(JobRecord Done, JobRecord? Retry)> RunAttemptAsync(
        IServiceProvider provider, JobStore jobs, RunRecord run, JobRecord job, DirectoryModuleSource? workingCopy, SemaphoreSlim slots, RunProgressView view, CancellationToken cancellationToken)
    {
        JobRecord? retry = null;
        await slots.WaitAsync(CancellationToken.None);
        try
        {
            if (cancellationToken.IsCancellationRequested)
            {
                await jobs.MarkFinishedAsync(job.Id, JobResult.Cancelled, "Cancelled before it started.", CancellationToken.None);
            }
            else
            {
                retry = await ExecuteAsync(provider, jobs, run, job, workingCopy, view, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await jobs.MarkFinishedAsync(job.Id, JobResult.Error, $"CiRunner could not run the job: {e.Message}", CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
            await jobs.MarkFinishedAsync(job.Id, JobResult.Cancelled, "Cancelled (Ctrl+C) before the job ended.", CancellationToken.None);
        }
        finally
        {
            slots.Release();
        }

        JobRecord done = (await jobs.GetAsync(job.Id, CancellationToken.None))!;
        await view.FinishedAsync(done);
        return (done, retry);
    }

    /// <summary>Runs one attempt; returns the cell's next attempt when this one ended in a transient error and may be retried.</summary>
    internal static async Task<JobRecord?> ExecuteAsync(
        IServiceProvider provider, JobStore jobs, RunRecord run, JobRecord job, DirectoryModuleSource? workingCopy, RunProgressView view, CancellationToken cancellationToken)
    {
        JobSpec spec;
        JobLockfile lockfile;
        try
        {
            (spec, lockfile) = await provider.GetRequiredService<JobSpecFactory>().ForJobAsync(run, job, jobs, workingCopy, cancellationToken);
        }
        catch (ModuleSetException e)
        {
            await jobs.MarkStartedAsync(job.Id, null, null, cancellationToken);
            await jobs.MarkFinishedAsync(job.Id, JobResult.Error, e.Message, CancellationToken.None);
            return null;
        }

        await jobs.MarkStartedAsync(job.Id, null, spec.LogFilePath, cancellationToken);
        await provider.GetRequiredService<JobProgressStore>().RecordLockfileAsync(job.Id, lockfile, cancellationToken);
        await view.RunningAsync(job);
        JobOutcome outcome = await provider.GetRequiredService<IJobExecutor>().ExecuteAsync(spec, view.Observe(provider.GetRequiredService<JobRecorder>()), cancellationToken);

        // In the foreground nobody waits out an outage: a transient cause counts only if the engine answers now.
        bool transient = false;
        if (outcome.TransientCause is not null && !cancellationToken.IsCancellationRequested)
        {
            DockerEngineMonitor engine = provider.GetRequiredService<DockerEngineMonitor>();
            engine.Invalidate();
            transient = await engine.IsAvailableAsync(cancellationToken);
        }

        var end = new JobEnd(outcome.Result, outcome.Summary)
        {
            TransientCause = transient,
            MaxAttempts = provider.GetRequiredService<CiRunnerSettings>().Service.MaxAttempts,

            // A working copy's code is not in any commit, so a re-run could not be sure to run the same code.
            FlakeReruns = workingCopy is null ? provider.GetRequiredService<CiRunnerSettings>().Flakes.Reruns : 0,
            PackageSnapshot = outcome.PackageSnapshot,
            PhaseSnapshots = outcome.PhaseSnapshots,
        };
        JobCompletion? completion = await jobs.MarkFinishedAsync(job.Id, end, CancellationToken.None);
        return completion?.Retry;
    }
}
