using System.CommandLine;
using CiRunner.Cli;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using CiRunner.Tests.Results;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CiRunner.Tests.Cli;

/// <summary>The <c>runs</c>, <c>show</c> and <c>logs</c> verbs, run the way a user runs them, against a real database.</summary>
public sealed class ResultsVerbsTests : IDisposable
{
    private readonly TempDatabase _temp = new();
    private readonly string _config;

    public ResultsVerbsTests()
    {
        _config = _temp.WriteConfig();
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Runs_NoDatabaseYet_NamesTheFileAndExits1()
    {
        (int exitCode, string output, string error) = await InvokeAsync("runs");

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.Equal(
            $"No results database at {_temp.DatabaseFile}: no run has happened yet (or Service:DataDirectory points elsewhere).",
            error.TrimEnd());
        Assert.False(File.Exists(_temp.DatabaseFile));
    }

    [Fact]
    public async Task Runs_SomeRuns_AlignedTableNewestFirst()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail nightly = await store.Runs.CreateAsync(Samples.Run(cause: RunCause.Nightly), [Samples.Deploy(), Samples.Upgrade()], CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(nightly.Jobs[0].Id, JobResult.Success, null, CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(nightly.Jobs[1].Id, JobResult.Failure, null, CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromMinutes(90));
        await store.Runs.CreateAsync(Samples.Run(module: "nova", branch: "master", cause: RunCause.Manual), [Samples.Deploy("2026.1")], CancellationToken.None);

        (int exitCode, string output, string error) = await InvokeAsync("runs");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Equal(
            """
            ID  CAUSE    MODULE    BRANCH         COMMIT      CREATED (UTC)        RESULT   PASSED
            2   manual   nova      master         0123456789  2025-04-01 03:30:00  queued   0/1
            1   nightly  keystone  stable/2024.1  0123456789  2025-04-01 02:00:00  failure  1/2

            """.ReplaceLineEndings(),
            output);
    }

    [Fact]
    public async Task Runs_FilterAndLimit_OnlyMatchingRuns()
    {
        ResultsStore store = _temp.CreateStore();
        for (int i = 0; i < 3; i++)
        {
            await store.Runs.CreateAsync(Samples.Run(), [], CancellationToken.None);
            await store.Runs.CreateAsync(Samples.Run(module: "nova"), [], CancellationToken.None);
        }

        (int exitCode, string output, _) = await InvokeAsync("runs", "--module", "nova", "--branch", "stable/2024.1", "--limit", "2");
        (_, string none, _) = await InvokeAsync("runs", "--module", "glance");

        Assert.Equal(0, exitCode);
        string[] lines = output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines.Skip(1), line => Assert.Contains(" nova ", line, StringComparison.Ordinal));
        Assert.Equal("No runs of glance.", none.TrimEnd());
    }

    [Fact]
    public async Task Runs_Help_DescribesTheOptions()
    {
        (int exitCode, string output, _) = await InvokeAsync("runs", "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("--module", output, StringComparison.Ordinal);
        Assert.Contains("--branch", output, StringComparison.Ordinal);
        Assert.Contains("--limit", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_DatabaseFromNewerCiRunner_SaysSoAndExits1()
    {
        await _temp.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);
        await using (SqliteConnection connection = await _temp.OpenRawAsync())
        {
            await connection.ExecuteAsync("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', '2030-01-01T00:00:00.000Z')");
        }

        (int exitCode, _, string error) = await InvokeAsync("runs");

        Assert.Equal(1, exitCode);
        Assert.Contains($"was written by a newer CiRunner (schema 99, this build knows {ResultsDatabase.CodeSchemaVersion})", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_FinishedRun_JobsModulesStepsAndChanges()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(
            Samples.Run(cause: RunCause.PatchSet, changeRef: "refs/changes/45/12345/3", patchSet: 3), [Samples.Deploy(), Samples.Upgrade()], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await store.Jobs.MarkStartedAsync(jobId, "sha256:4f1a2b3c4d5e6f708192a3b4c5d6e7f8", "logs/1/1.log", CancellationToken.None);
        await store.JobProgress.RecordModulesAsync(jobId, [new("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.1", Samples.Sha)], CancellationToken.None);
        await store.JobProgress.AddStepAsync(jobId, Samples.Step(1, TempDatabase.Start), CancellationToken.None);
        StepRecord idempotency = await store.JobProgress.AddStepAsync(
            jobId, Samples.Step(2, TempDatabase.Start.AddMinutes(1), StepKind.Idempotency, exitCode: 2, JobResult.Failure), CancellationToken.None);
        await store.JobProgress.AddIdempotencyChangesAsync(jobId, idempotency.Id, [Samples.Change()], CancellationToken.None);
        _temp.Time.Advance(TimeSpan.FromSeconds(185));
        await store.Jobs.MarkFinishedAsync(jobId, JobResult.Failure, "idempotency: 1 change", CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(run.Jobs[1].Id, JobResult.Skipped, "no upgrade path", CancellationToken.None);

        (int exitCode, string output, string error) = await InvokeAsync("show", run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.StartsWith($"Run 1: patchset of keystone stable/2024.1 at {Samples.Sha}", output, StringComparison.Ordinal);
        Assert.Contains("  Change:     refs/changes/45/12345/3 (patch set 3)", output, StringComparison.Ordinal);
        Assert.Contains("  Result:     failure (0/2 jobs passed)", output, StringComparison.Ordinal);
        Assert.Contains("JOB  CELL                                RESULT   DURATION  IMAGE         SUMMARY", output, StringComparison.Ordinal);
        Assert.Contains("1    2024.1/scenario001                  failure  3m05s     4f1a2b3c4d5e  idempotency: 1 change", output, StringComparison.Ordinal);
        Assert.Contains("2    2023.1->2024.1/scenario001:upgrade  skipped  -         -             no upgrade path", output, StringComparison.Ordinal);
        Assert.Contains("Job 1: 2024.1/scenario001 (deploy 2024.1, scenario001, attempt 1)", output, StringComparison.Ordinal);
        Assert.Contains($"  Log:        {Path.Combine(_temp.Paths.Root, "logs/1/1.log")} (cirunner logs 1)", output, StringComparison.Ordinal);
        Assert.Contains($"    keystone  stable/2024.1  {Samples.Sha}  https://opendev.org/openstack/puppet-keystone", output, StringComparison.Ordinal);
        Assert.Contains("    2  deploy  IDEMPOTENCY 2  idempotency  2     42.5s     failure", output, StringComparison.Ordinal);
        Assert.Contains(
            "    Keystone_config[DEFAULT/debug] value: 'false' -> 'true' at /etc/puppet/modules/keystone/manifests/init.pp:120 (module keystone), step 2",
            output,
            StringComparison.Ordinal);
        Assert.Contains("Job 2: 2023.1->2024.1/scenario001:upgrade (upgrade 2023.1 -> 2024.1, scenario001, attempt 2)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_UpgradeJob_LockfilePerPhase()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade()], CancellationToken.None);
        await store.JobProgress.RecordModulesAsync(run.Jobs[0].Id,
            [new("keystone", "https://opendev.org/openstack/puppet-keystone", "unmaintained/2023.1", "aaaa", "deploy"),
             new("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.1", Samples.Sha, "upgrade")],
            CancellationToken.None);

        (int exitCode, string output, _) = await InvokeAsync("show", run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, exitCode);
        string text = output.ReplaceLineEndings("\n");
        Assert.Matches(@"  Modules \(deploy\):\n    MODULE\s+REF\s+COMMIT\s+GIT\n    keystone  unmaintained/2023\.1  aaaa", text);
        Assert.Matches(@"  Modules \(upgrade\):\n    MODULE\s+REF\s+COMMIT\s+GIT\n    keystone  stable/2024\.1  " + Samples.Sha, text);
    }

    [Fact]
    public async Task Show_UpgradeJobWithPackageSnapshot_PrintsItBesideTheModuleLockfile()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Upgrade(to: "2024.2")], CancellationToken.None);
        long jobId = run.Jobs[0].Id;
        await store.JobProgress.RecordModulesAsync(jobId, [new("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.2", Samples.Sha, "upgrade")], CancellationToken.None);
        await store.Jobs.MarkStartedAsync(jobId, null, null, CancellationToken.None);
        string id = "sha256:" + new string('a', 64);
        await store.Jobs.MarkFinishedAsync(jobId, new JobEnd(JobResult.Success, "passed") { PackageSnapshot = new PackageSnapshotInfo("2024.2", "cirunner-snapshot-2024.2-0123456789ab", id, "sha256:image", 558) }, CancellationToken.None);

        (int exitCode, string output, _) = await InvokeAsync("show", run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, exitCode);
        Assert.Matches(@"  Modules \(upgrade\):\n    MODULE\s+REF\s+COMMIT\s+GIT\n    keystone  stable/2024\.2  " + Samples.Sha + @".*\n  Package snapshot \(upgrade\): 2024\.2 " + id + @" \(558 packages\)\n",
            output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Show_ReplayedJob_PrintsTheLockfileAndWhetherTheReplayMatches()
    {
        // Given a failed job with a whole lockfile, and a replay of it that failed too
        ResultsStore store = _temp.CreateStore();
        RunDetail original = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        long jobId = original.Jobs[0].Id;
        await store.Jobs.MarkStartedAsync(jobId, "sha256:image", null, CancellationToken.None);
        await store.JobProgress.RecordLockfileAsync(jobId, new JobLockfile(
            "scenario001",
            [new JobModuleRecord("keystone", "/repos/keystone", "stable/2024.1", new string('a', 40))],
            "cirunner/release:2024.1",
            "2024.1",
            "none",
            CiRunner.Matrix.InitSystem.None,
            null,
            null,
            [new LockfilePhase("deploy", "scenario001.pp", [new CiRunner.Matrix.StepDefinition(StepKind.Apply, "apply", [], TimeSpan.FromMinutes(30))])],
            [ScenarioText.Of("scenario001.pp", ScenarioTextRole.Manifest, "include keystone\n")]),
            CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(jobId, JobResult.Failure, "failure: apply", CancellationToken.None);
        RunDetail replay = await store.Runs.CreateAsync(
            Samples.Run(cause: RunCause.Replay), [Samples.Deploy() with { ReplayOf = jobId }], CancellationToken.None);
        await store.Jobs.MarkFinishedAsync(replay.Jobs[0].Id, JobResult.Failure, "failure: apply", CancellationToken.None);

        // When both runs are shown
        (int exitCode, string output, _) = await InvokeAsync("show", original.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (_, string replayOutput, _) = await InvokeAsync("show", replay.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Then the original prints its lockfile and how to replay it, the replay that it matches
        Assert.Equal(0, exitCode);
        Assert.Contains($"Lockfile:   image cirunner/release:2024.1 (release 2024.1), network none, init none; replay: cirunner replay {jobId}", output, StringComparison.Ordinal);
        Assert.Matches($@"scenario001\.pp\s+manifest\s+{ScenarioText.HashOf("include keystone\n")}", output);
        Assert.Matches(@"deploy\s+apply\s+apply\s+30m", output);
        Assert.Contains($"replay of job {jobId})", replayOutput, StringComparison.Ordinal);
        Assert.Contains($"Replay:     matches: failure, as job {jobId}", replayOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_UnknownRun_OneLineErrorExit1()
    {
        await _temp.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);

        (int exitCode, string output, string error) = await InvokeAsync("show", "42");

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"No run 42 in {_temp.DatabaseFile}.{Environment.NewLine}", error);
    }

    [Fact]
    public async Task Logs_JobWithLog_PrintsTheWholeFile()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        string logFile = _temp.Paths.JobLogFile(run.Run.Id, run.Jobs[0].Id);
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);

        // Several chunks long, so the copy loop goes round more than once.
        string log = string.Concat(Enumerable.Range(1, 5000).Select(i => $"Notice: /Stage[main]/Keystone/Keystone_config[line {i}]/ensure: created{Environment.NewLine}"));
        await File.WriteAllTextAsync(logFile, log);
        await store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, logFile, CancellationToken.None);

        (int exitCode, string output, string error) = await InvokeAsync("logs", "1");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Equal(log, output);
    }

    [Fact]
    public async Task Logs_UnknownJob_OneLineErrorExit1()
    {
        await _temp.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);

        (int exitCode, _, string error) = await InvokeAsync("logs", "9");

        Assert.Equal(1, exitCode);
        Assert.Equal($"No job 9 in {_temp.DatabaseFile}.{Environment.NewLine}", error);
    }

    [Fact]
    public async Task Logs_QueuedJob_SaysItHasNoLog()
    {
        ResultsStore store = _temp.CreateStore();
        await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);

        (int exitCode, _, string error) = await InvokeAsync("logs", "1");

        Assert.Equal(1, exitCode);
        Assert.Equal("Job 1 has no log: it is queued and never started.", error.TrimEnd());
    }

    [Fact]
    public async Task Logs_LogFileGone_NamesTheFileAndExits1()
    {
        ResultsStore store = _temp.CreateStore();
        RunDetail run = await store.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await store.Jobs.MarkStartedAsync(run.Jobs[0].Id, null, "logs/1/1.log", CancellationToken.None);

        (int exitCode, _, string error) = await InvokeAsync("logs", "1");

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"The log of job 1, {Path.Combine(_temp.Paths.Root, "logs/1/1.log")}, does not exist (removed, or the data directory moved?).",
            error.TrimEnd());
    }

    private async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(["--config", _config, .. args], new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}
