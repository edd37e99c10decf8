using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary>
/// <c>cirunner bisect</c>: the service's search for the first bad commit, in the foreground. Its first step runs the
/// cell at the bad commit from today's configuration (a run with cause <c>bisect</c>); every later step replays that
/// job's lockfile with the searched module's commit changed, so only that module moves between steps.
/// </summary>
internal static class BisectCommand
{
    /// <summary>Exit code when the search named the first bad commit.</summary>
    public const int CulpritFound = 0;

    /// <summary>Exit code when it ended otherwise: not reproducible, not in the range, or out of jobs.</summary>
    public const int NoCulprit = 1;

    public static Command Create()
    {
        var module = new Option<string>("--module", "-m")
        {
            Description = "The module under test (short name, e.g. keystone).",
            Required = true,
            CustomParser = CliValues.NonBlank("a module's short name, like keystone"),
        };
        var scenario = new Option<string>("--scenario", "-s")
        {
            Description = "The cell's scenario.",
            Required = true,
            CustomParser = CliValues.NonBlank("a scenario's name, like scenario001"),
        };
        var release = new Option<string>("--release")
        {
            Description = "The cell's release (the upgrade target for an upgrade or rollback cell).",
            Required = true,
            CustomParser = CliValues.NonBlank("a configured release, like 2024.1"),
        };
        var fromRelease = new Option<string?>("--from-release")
        {
            Description = "For an upgrade or rollback cell: the release upgraded from.",
            CustomParser = CliValues.NonBlank("a configured release, like 2023.2"),
        };
        var kind = new Option<string>("--kind")
        {
            Description = "The cell's kind: deploy (the default), upgrade or rollback.",
            DefaultValueFactory = _ => "deploy",
            CustomParser = CliValues.NonBlank("deploy, upgrade or rollback"),
        };
        var good = new Option<string>("--good")
        {
            Description = "A commit where the cell passes.",
            Required = true,
            CustomParser = CliValues.NonBlank("a commit, like 3f2a91c"),
        };
        var bad = new Option<string>("--bad")
        {
            Description = "A later commit on the same branch where the cell fails.",
            Required = true,
            CustomParser = CliValues.NonBlank("a commit, like 9b0e4d2"),
        };
        var dependency = new Option<string?>("--dependency")
        {
            Description = "Search this module of the release's Puppetfile instead: --good and --bad are its commits, the module under test stays at its branch's head.",
            CustomParser = CliValues.NonBlank("a module of the Puppetfile, like stdlib"),
        };

        var command = new Command(
            "bisect",
            "Find the first commit that makes a cell fail, in the foreground: exit 0 when it names one, 1 when the search ends otherwise, 2 when it cannot run.");
        foreach (Option option in new Option[] { module, scenario, release, fromRelease, kind, good, bad, dependency })
        {
            command.Options.Add(option);
        }

        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult,
            new BisectRequest(
                parseResult.GetValue(module)!, parseResult.GetValue(scenario)!, parseResult.GetValue(release)!, parseResult.GetValue(fromRelease),
                parseResult.GetValue(kind)!, parseResult.GetValue(good)!, parseResult.GetValue(bad)!, parseResult.GetValue(dependency)),
            cancellationToken));
        return command;
    }

    private sealed record BisectRequest(string Module, string Scenario, string Release, string? FromRelease, string Kind, string Good, string Bad, string? Dependency);

    private static async Task<int> RunAsync(ParseResult parseResult, BisectRequest request, CancellationToken cancellationToken)
    {
        TextWriter output = TextWriter.Synchronized(parseResult.InvocationConfiguration.Output);
        TextWriter error = parseResult.InvocationConfiguration.Error;
        if (!ConfigurationLoader.TryLoad(GlobalOptions.ResolveConfigPath(parseResult), error, out CiRunnerSettings? settings))
        {
            return RunCommand.NothingRan;
        }

        (Cell? cell, TrackedModule? module, string? problem) = Check(settings, request);
        if (cell is null || module is null)
        {
            await error.WriteLineAsync(problem.AsMemory(), cancellationToken);
            return RunCommand.NothingRan;
        }

        await using ServiceProvider provider = await ForegroundServices.StartAsync(settings, cancellationToken);
        ModuleSetResolver resolver = provider.GetRequiredService<ModuleSetResolver>();

        Release release = settings.FindRelease(request.Release)!;
        string branch = module.BranchFor(release) ?? release.BranchCandidates[0];
        string target = request.Dependency ?? module.Name;
        string targetUrl = request.Dependency is null ? module.Url : DependencyUrl(settings, cell, request.Dependency)!;
        IReadOnlyList<BisectCommit> history;
        string runCommit;
        try
        {
            history = resolver.FirstParentHistory(target, targetUrl, request.Good, request.Bad);
            runCommit = request.Dependency is null ? history[^1].Sha : BranchHead(resolver, module, branch);
        }
        catch (ModuleSetException e)
        {
            await error.WriteLineAsync($"--good/--bad: {e.Message}".AsMemory(), cancellationToken);
            return RunCommand.NothingRan;
        }

        if (history.Count < 2)
        {
            await error.WriteLineAsync($"--good and --bad are the same commit of {target}; give the last commit where the cell passes and a later one where it fails.".AsMemory(), cancellationToken);
            return RunCommand.NothingRan;
        }

        BisectStore bisects = provider.GetRequiredService<BisectStore>();
        JobStore jobs = provider.GetRequiredService<JobStore>();
        (BisectRecord bisect, RunDetail run) = await bisects.CreateAsync(
            new NewBisect(module.Name, branch, cell.Key, target, history, CheckGood: false, settings.Bisect.MaxJobs, settings.Bisect.Retries)
            {
                RequestedBy = Environment.UserName,
                RunCommit = runCommit,
            },
            new NewJob(cell.Key, cell.Kind, cell.Release, cell.FromRelease, cell.Scenario),
            cancellationToken);
        await output.WriteLineAsync(
            $"Run {run.Run.Id}: bisect {bisect.Id} of {cell.Key}, {history.Count - 1} commits of {target} after {ResultsText.ShortSha(history[0].Sha)} up to {ResultsText.ShortSha(history[^1].Sha)}; at most {bisect.MaxJobs} jobs, failing midpoints re-run {bisect.Retries} time(s); Ctrl+C cancels".AsMemory(),
            cancellationToken);

        BisectDetail detail;
        var steps = new List<(BisectCommit Commit, JobRecord Job)>();
        await using (RunProgressView view = RunProgressView.Create(parseResult.InvocationConfiguration.Output, Console.Out, TimeProvider.System))
        {
            await view.StartAsync([], cancellationToken);
            using var slots = new SemaphoreSlim(1);
            JobRecord? next = run.Jobs[0];
            int position = history.Count - 1;
            while (true)
            {
                BisectCommit commit = history[position];
                await view.AddedAsync(next, $"{ResultsText.ShortSha(commit.Sha)} {commit.Subject}");
                JobRecord done = await RunCommand.RunJobAsync(provider, run.Run, next, null, slots, view, cancellationToken);
                steps.Add((commit, done));
                detail = (await bisects.ForRunAsync(run.Run.Id, CancellationToken.None))!;
                BisectStepRecord? queued = detail.Steps.LastOrDefault(s => s.Result is null);
                if (detail.Bisect.Finished || queued is null || cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                next = (await jobs.GetAsync(queued.JobId, CancellationToken.None))!;
                position = queued.Position;
            }

            await view.CompleteAsync();
        }

        await output.WriteLineAsync(string.Empty.AsMemory(), CancellationToken.None);
        var table = new TextTable("STEP", "JOB", "COMMIT", "SUBJECT", "RESULT");
        foreach (((BisectCommit commit, JobRecord job), int index) in steps.Select((s, i) => (s, i)))
        {
            table.AddRow(ResultsText.Number(index + 1), ResultsText.Number(job.Id), ResultsText.ShortSha(commit.Sha), commit.Subject, ResultsText.Status(job));
        }

        await table.WriteAsync(output, "", CancellationToken.None);
        BisectRecord ended = detail.Bisect;
        await output.WriteLineAsync($"{detail.Describe()}; {steps.Count} jobs; details: cirunner show {run.Run.Id}".AsMemory(), CancellationToken.None);
        if (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("Cancelled by Ctrl+C.".AsMemory(), CancellationToken.None);
            return RunCommand.Cancelled;
        }

        return ended.Verdict switch
        {
            BisectVerdict.Culprit => CulpritFound,
            BisectVerdict.Error => RunCommand.NothingRan,
            _ => NoCulprit,
        };
    }

    private static (Cell? Cell, TrackedModule? Module, string? Problem) Check(CiRunnerSettings settings, BisectRequest request)
    {
        TrackedModule? module = settings.FindModule(request.Module);
        if (module is null)
        {
            return (null, null, $"--module: '{request.Module}' is not configured; configured: {string.Join(", ", settings.Modules.Select(m => m.Name))}");
        }

        string releases = string.Join(", ", settings.Releases.Select(r => r.Name));
        if (settings.FindRelease(request.Release) is null)
        {
            return (null, null, $"--release: '{request.Release}' is not configured; configured: {releases}");
        }

        if (settings.FindScenario(request.Scenario) is null)
        {
            return (null, null, $"--scenario: '{request.Scenario}' is not in {settings.Service.ScenariosDirectory}");
        }

        if (!WireNames.TryParseWire(request.Kind, out JobKind kind))
        {
            return (null, null, $"--kind: '{request.Kind}' is not a kind of cell; use deploy, upgrade or rollback");
        }

        if (kind == JobKind.Deploy && request.FromRelease is not null)
        {
            return (null, null, "--from-release is for upgrade and rollback cells; add --kind upgrade (or rollback), or leave it out");
        }

        if (kind != JobKind.Deploy && (request.FromRelease is null || settings.FindRelease(request.FromRelease) is null))
        {
            return (null, null, $"--from-release: an {kind.ToWire()} cell needs the configured release it upgrades from ({releases})");
        }

        var cell = new Cell(kind, request.Release, request.FromRelease, request.Scenario);
        if (request.Dependency is { } dependency && DependencyUrl(settings, cell, dependency) is null)
        {
            return (null, null, $"--dependency: '{dependency}' is in no Puppetfile of the cell's releases; name a module of {settings.FindRelease(request.Release)!.Puppetfile.Path}");
        }

        if (request.Dependency == module.Name)
        {
            return (null, null, "--dependency: that is the module under test; leave --dependency out to search its commits");
        }

        return (cell, module, null);
    }

    /// <summary>The dependency's URL in the cell's Puppetfiles (the target release's first); null when neither has it.</summary>
    private static string? DependencyUrl(CiRunnerSettings settings, Cell cell, string dependency) =>
        new[] { cell.Release, cell.FromRelease }
            .Select(name => name is null ? null : settings.FindRelease(name)?.Puppetfile.Find(dependency))
            .FirstOrDefault(entry => entry is not null)?.Git;

    private static string BranchHead(ModuleSetResolver resolver, TrackedModule module, string branch) =>
        resolver.BranchHead(module.Name, module.Url, branch)
            ?? throw new ModuleSetException($"Module '{module.Name}' has no branch '{branch}' in {resolver.MirrorPath(module.Name)} or {module.Url}; run cirunner serve once to mirror it, or give its commits without --dependency.");
}
