using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary><c>cirunner show &lt;run-id&gt;</c>: one run, its jobs, and what each job used and did.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var runId = new Argument<long>("run-id")
        {
            Description = "The run's id, as listed by 'cirunner runs'.",
            CustomParser = CliValues.Id("a run", "'cirunner runs'"),
        };

        var command = new Command("show", "Show a run and its jobs: results, durations, images, module commits, steps, idempotency changes and Tempest tests.");
        command.Arguments.Add(runId);
        command.SetAction((parseResult, cancellationToken) => ResultsVerb.InvokeAsync(
            parseResult,
            (store, paths, output, error, token) => WriteAsync(store, paths, parseResult.GetValue(runId), output, error, token),
            cancellationToken));
        return command;
    }

    public static async Task<int> WriteAsync(ResultsStore store, DataPaths paths, long runId, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        RunDetail? detail = await store.Runs.GetDetailAsync(runId, cancellationToken);
        if (detail is null)
        {
            await error.WriteLineAsync($"No run {runId} in {store.Database.Location}.".AsMemory(), cancellationToken);
            return 1;
        }

        RunRecord run = detail.Run;

        // A cell that was retried counts once, by its latest attempt; the earlier attempts are listed as history.
        IReadOnlyList<JobRecord> latest = detail.LatestAttempts();
        int passed = latest.Count(j => j.Result?.Passed() == true);
        int retried = detail.Jobs.Count - latest.Count;
        HashSet<long> retriedIds = [.. detail.Jobs.Where(j => j.RetryOf is not null).Select(j => j.RetryOf!.Value)];
        await WriteLineAsync(output, $"Run {run.Id}: {run.Cause.ToWire()} of {run.Module} {run.Branch} at {run.CommitSha}", cancellationToken);
        if (run.ChangeRef is not null)
        {
            await WriteLineAsync(output, $"  Change:     {run.ChangeRef} (patch set {ResultsText.OrNone(run.PatchSet)})", cancellationToken);
        }

        if (run.RequestedBy is not null)
        {
            await WriteLineAsync(output, $"  Requested:  {run.RequestedBy}", cancellationToken);
        }

        await WriteLineAsync(output, $"  Created:    {ResultsText.Time(run.CreatedAt)} UTC", cancellationToken);
        await WriteLineAsync(output, $"  Started:    {Utc(run.StartedAt)}", cancellationToken);
        await WriteLineAsync(output, $"  Finished:   {Utc(run.FinishedAt)}", cancellationToken);
        string attempts = retried == 0 ? "" : $"; {retried} earlier {(retried == 1 ? "attempt" : "attempts")} retried";
        await WriteLineAsync(output, $"  Result:     {ResultsText.Status(run)} ({ResultsText.Passed(passed, latest.Count)} jobs passed{attempts})", cancellationToken);
        await WriteBisectsAsync(store, detail, output, cancellationToken);

        if (detail.Jobs.Count == 0)
        {
            return 0;
        }

        await WriteLineAsync(output, "", cancellationToken);
        var jobs = new TextTable("JOB", "CELL", "RESULT", "DURATION", "IMAGE", "SUMMARY");
        foreach (JobRecord job in detail.Jobs)
        {
            jobs.AddRow(
                ResultsText.Number(job.Id),
                job.RetryOf is null ? job.CellKey : $"{job.CellKey} (attempt {job.Attempt})",
                retriedIds.Contains(job.Id) ? $"{ResultsText.Status(job)}, retried" : ResultsText.Status(job),
                ResultsText.Duration(job.Duration),
                ResultsText.ShortImage(job.ImageId),
                ResultsText.OrNone(job.Summary));
        }

        await jobs.WriteAsync(output, indent: "", cancellationToken);
        await WriteReportsAsync(store, run.Id, output, cancellationToken);

        foreach (JobRecord job in detail.Jobs)
        {
            JobDetail? jobDetail = await store.Jobs.GetDetailAsync(job.Id, cancellationToken);
            if (jobDetail is not null)
            {
                await WriteJobAsync(jobDetail, paths, output, cancellationToken);
                await WriteLockfileAsync(store, jobDetail.Job, output, cancellationToken);
            }
        }

        return 0;
    }

    /// <summary>
    /// A bisect's run: the search, its steps and its verdict. Any other run: the verdict of each bisect its red jobs
    /// started, with the run that holds its steps.
    /// </summary>
    private static async Task WriteBisectsAsync(ResultsStore store, RunDetail detail, TextWriter output, CancellationToken cancellationToken)
    {
        if (detail.Run.Cause == RunCause.Bisect)
        {
            if (await store.Bisects.ForRunAsync(detail.Run.Id, cancellationToken) is not { } bisect)
            {
                return;
            }

            BisectRecord record = bisect.Bisect;
            string of = record.BadJobId is { } red && record.GoodJobId is { } green ? $"red job {red} after green job {green}" : "cirunner bisect";
            await WriteLineAsync(output, $"  Bisect:     {record.Id}, {record.CellKey}, {bisect.Commits.Count - 1} commits of {record.TargetModule} after {ResultsText.ShortSha(record.GoodSha)} ({of}); at most {record.MaxJobs} jobs, retries {record.Retries}", cancellationToken);
            await WriteLineAsync(output, $"  Verdict:    {bisect.Describe()}", cancellationToken);
            if (record.CulpritSha is { } culprit)
            {
                await WriteLineAsync(output, $"  Culprit:    {culprit}", cancellationToken);
            }

            var steps = new TextTable("STEP", "JOB", "POSITION", "COMMIT", "SUBJECT", "RESULT");
            foreach ((BisectStepRecord step, int index) in bisect.Steps.Select((s, i) => (s, i)))
            {
                steps.AddRow(
                    ResultsText.Number(index + 1), ResultsText.Number(step.JobId), $"{ResultsText.Number(step.Position)}/{ResultsText.Number(bisect.Commits.Count - 1)}",
                    ResultsText.ShortSha(step.Sha), bisect.Commits[step.Position].Subject, step.Result?.ToWire() ?? "queued");
            }

            await steps.WriteAsync(output, indent: "    ", cancellationToken);
            return;
        }

        foreach (BisectRecord bisect in await store.Bisects.OfRedJobsAsync(detail.Jobs.Select(j => j.Id).ToList(), cancellationToken))
        {
            await WriteLineAsync(output, $"  Bisect:     job {bisect.BadJobId}: {bisect.Describe()}; steps: cirunner show {bisect.RunId}", cancellationToken);
        }
    }

    /// <summary>
    /// The rest of the job's lockfile after its modules: the image it asked for, the scenario files by hash and the
    /// steps as run; for a replay, whether its result matches the original's.
    /// </summary>
    private static async Task WriteLockfileAsync(ResultsStore store, JobRecord job, TextWriter output, CancellationToken cancellationToken)
    {
        if (job.ReplayOf is { } originalId && ReplayComparison.Of(job, await store.Jobs.GetAsync(originalId, cancellationToken)) is { } replay)
        {
            await WriteLineAsync(output, $"  Replay:     {replay}", cancellationToken);
        }

        if (await store.Jobs.GetLockfileAsync(job.Id, cancellationToken) is not { } lockfile)
        {
            return;
        }

        string release = lockfile.ImageRelease is null ? "" : $" (release {lockfile.ImageRelease})";
        await WriteLineAsync(output, $"  Lockfile:   image {lockfile.Image}{release}, network {lockfile.NetworkMode}, init {lockfile.Init.ToString().ToLowerInvariant()}; replay: cirunner replay {job.Id}", cancellationToken);
        var files = new TextTable("SCENARIO FILE", "ROLE", "HASH");
        foreach (ScenarioText file in lockfile.Files)
        {
            files.AddRow(file.Path, file.Role, file.Hash);
        }

        await files.WriteAsync(output, indent: "    ", cancellationToken);
        var steps = new TextTable("PHASE", "STEP", "KIND", "TIMEOUT", "COMMAND");
        foreach (LockfilePhase phase in lockfile.Phases)
        {
            foreach (Matrix.StepDefinition step in phase.Steps)
            {
                steps.AddRow(phase.Name, step.Name, step.Kind.ToWire(), ResultsText.Duration(step.Timeout), step.Command.Count == 0 ? ResultsText.OrNone(phase.Manifest) : string.Join(' ', step.Command));
            }
        }

        await steps.WriteAsync(output, indent: "    ", cancellationToken);
    }

    private static async Task WriteJobAsync(JobDetail detail, DataPaths paths, TextWriter output, CancellationToken cancellationToken)
    {
        JobRecord job = detail.Job;
        string upgrade = job.FromRelease is null ? job.Release : $"{job.FromRelease} -> {job.Release}";
        await WriteLineAsync(output, "", cancellationToken);
        await WriteLineAsync(output, $"Job {job.Id}: {job.CellKey} ({job.Kind.ToWire()} {upgrade}, {job.Scenario}, {ResultsText.AttemptOf(job)})", cancellationToken);
        string duration = job.Duration is null ? "" : $" after {ResultsText.Duration(job.Duration)}";
        await WriteLineAsync(output, $"  Result:     {ResultsText.Status(job)}{duration}", cancellationToken);
        await WriteLineAsync(output, $"  Queued:     {Utc(job.QueuedAt)}, started {Utc(job.StartedAt)}, finished {Utc(job.FinishedAt)}", cancellationToken);
        await WriteLineAsync(output, $"  Image:      {ResultsText.OrNone(job.ImageId)}", cancellationToken);
        string log = job.LogPath is null ? ResultsText.None : $"{LogsCommand.ResolveLogPath(paths, job.LogPath)} (cirunner logs {job.Id})";
        await WriteLineAsync(output, $"  Log:        {log}", cancellationToken);
        if (job.Summary is not null)
        {
            await WriteLineAsync(output, $"  Summary:    {job.Summary.ReplaceLineEndings(" ")}", cancellationToken);
        }

        // One lockfile per phase: an upgrade job installs the from-release's module set, then the target's.
        List<IGrouping<string, JobModuleRecord>> phases = detail.Modules.GroupBy(m => m.Phase, StringComparer.Ordinal).ToList();
        foreach (IGrouping<string, JobModuleRecord> phase in phases)
        {
            await WriteLineAsync(output, phases.Count == 1 && phase.Key == PhaseNames.Deploy ? "  Modules:" : $"  Modules ({phase.Key}):", cancellationToken);
            var modules = new TextTable("MODULE", "REF", "COMMIT", "GIT");
            foreach (JobModuleRecord module in phase)
            {
                modules.AddRow(module.Module, ResultsText.OrNone(module.Ref), module.CommitSha, module.GitUrl);
            }

            await modules.WriteAsync(output, indent: "    ", cancellationToken);
        }

        // The rest of the lockfile: the packages the upgrade phase moved the node onto.
        if (job.PackageSnapshot is { } snapshot)
        {
            await WriteLineAsync(output, $"  Package snapshot (upgrade): {snapshot}", cancellationToken);
        }

        // Which phases came from a phase snapshot (and which job made it), and which this job saved.
        foreach (PhaseSnapshot phaseSnapshot in detail.PhaseSnapshots)
        {
            await WriteLineAsync(output, $"  Snapshot: {phaseSnapshot.Describe()}, image {phaseSnapshot.ImageId}", cancellationToken);
        }

        if (detail.Steps.Count > 0)
        {
            await WriteLineAsync(output, "  Steps:", cancellationToken);
            var steps = new TextTable("#", "PHASE", "STEP", "KIND", "EXIT", "DURATION", "RESULT");
            foreach (StepRecord step in detail.Steps)
            {
                steps.AddRow(
                    ResultsText.Number(step.Ordinal),
                    step.Phase,
                    step.Name,
                    step.Kind.ToWire(),
                    ResultsText.OrNone(step.ExitCode),
                    ResultsText.Duration(step.Duration),
                    detail.SnapshotOf(step) is null ? step.Result.ToWire() : $"{step.Result.ToWire()} (from snapshot)");
            }

            await steps.WriteAsync(output, indent: "    ", cancellationToken);
        }

        if (detail.Changes.Count > 0)
        {
            await WriteLineAsync(output, $"  Idempotency changes ({detail.Changes.Count}):", cancellationToken);
            Dictionary<long, StepRecord> stepsById = detail.Steps.ToDictionary(s => s.Id);
            foreach (IdempotencyChangeRecord change in detail.Changes)
            {
                string step = stepsById.TryGetValue(change.StepId, out StepRecord? owner) ? $"step {owner.Ordinal}" : $"step id {change.StepId}";
                string where = change.ManifestFile is null ? "" : change.Line is { } line ? $" at {change.ManifestFile}:{line}" : $" at {change.ManifestFile}";
                string module = change.Module is null ? "" : $" (module {change.Module})";
                await WriteLineAsync(
                    output,
                    $"    {change.ResourceType}[{change.Title}] {change.Property}: {Quote(change.PreviousValue)} -> {Quote(change.DesiredValue)}{where}{module}, {step}",
                    cancellationToken);
            }
        }

        await WriteTempestAsync(detail, output, cancellationToken);
    }

    /// <summary>Each tempest step's counts, then every failed test with the Python traceback it ended with.</summary>
    private static async Task WriteTempestAsync(JobDetail detail, TextWriter output, CancellationToken cancellationToken)
    {
        foreach (IGrouping<long, TempestTestRecord> step in detail.TempestTests.GroupBy(t => t.StepId))
        {
            TempestTestRecord first = step.First();
            string name = detail.Steps.FirstOrDefault(s => s.Id == step.Key)?.Name ?? "tempest";
            await WriteLineAsync(
                output,
                $"  Tempest, step {first.StepOrdinal} '{name}' (phase {first.Phase}): {step.Count()} tests, {TempestCounts(step)}",
                cancellationToken);
            foreach (TempestTestRecord test in step.Where(t => t.Status == TempestTestStatus.Failed))
            {
                await WriteLineAsync(output, $"    FAILED {test.TestId} ({ResultsText.Duration(test.Duration)})", cancellationToken);
                foreach (string line in TempestText.PythonTraceback(test.Traceback ?? "").TrimEnd().ReplaceLineEndings("\n").Split('\n'))
                {
                    await WriteLineAsync(output, $"      {line}", cancellationToken);
                }
            }
        }
    }

    /// <summary><c>17 passed, 1 failed, 0 skipped</c>.</summary>
    internal static string TempestCounts(IEnumerable<TempestTestRecord> tests)
    {
        List<TempestTestRecord> all = tests.ToList();
        return $"{all.Count(t => t.Status == TempestTestStatus.Passed)} passed, {all.Count(t => t.Status == TempestTestStatus.Failed)} failed, {all.Count(t => t.Status == TempestTestStatus.Skipped)} skipped";
    }

    /// <summary>Where each report of the run stands (JUnit, Gerrit, webhooks): held and failed ones need the operator.</summary>
    private static async Task WriteReportsAsync(ResultsStore store, long runId, TextWriter output, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunReportRecord> reports = await store.Reports.ListForRunAsync(runId, cancellationToken);
        if (reports.Count == 0)
        {
            return;
        }

        await WriteLineAsync(output, "", cancellationToken);
        await WriteLineAsync(output, "Reports:", cancellationToken);
        var table = new TextTable("REPORTER", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "DETAIL");
        foreach (RunReportRecord report in reports)
        {
            string detail = report.State switch
            {
                ReportState.Pending or ReportState.Failed => report.LastError ?? report.Detail ?? ResultsText.None,
                _ => report.Detail ?? ResultsText.None,
            };
            table.AddRow(
                report.Reporter,
                report.State.ToWire(),
                ResultsText.Number(report.Attempts),
                report.State == ReportState.Pending ? Utc(report.NextAttemptAt) : ResultsText.None,
                detail.ReplaceLineEndings(" "));
        }

        await table.WriteAsync(output, indent: "  ", cancellationToken);
    }

    private static string Utc(DateTimeOffset? time) => time is null ? ResultsText.None : $"{ResultsText.Time(time)} UTC";

    private static string Quote(string? value) => value is null ? "(none)" : $"'{value.ReplaceLineEndings(" ")}'";

    private static Task WriteLineAsync(TextWriter output, string line, CancellationToken cancellationToken) =>
        output.WriteLineAsync(line.AsMemory(), cancellationToken);
}
