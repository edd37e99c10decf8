using CiRunner.Matrix;
using CiRunner.Reporting;
using CiRunner.Results;

namespace CiRunner.Tests.Reporting;

/// <summary>Finished runs built in memory, for the pure parts of reporting.</summary>
internal static class ReportSamples
{
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";

    public static readonly DateTimeOffset Started = new(2025, 4, 1, 2, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset Finished = new(2025, 4, 1, 2, 13, 7, TimeSpan.Zero);

    public static ReportedCell Cell(
        long jobId,
        string scenario,
        JobResult result,
        TimeSpan? duration,
        string? summary = null,
        JobKind kind = JobKind.Deploy,
        string release = "zed",
        string? fromRelease = null,
        int attempt = 1,
        StepRecord? failedStep = null,
        string? logFile = null)
    {
        string key = new Cell(kind, release, fromRelease, scenario).Key;
        var job = new JobRecord(
            jobId, 42, key, kind, release, fromRelease, scenario, JobPriority.PatchSet, JobState.Finished, result, summary, null,
            Started, duration is null ? null : Started, duration is null ? Finished : Started + duration.Value, duration, logFile, attempt);
        return new ReportedCell(job, JobNames.For(job), failedStep, logFile);
    }

    public static FinishedRun Run(params ReportedCell[] cells) => new(
        new RunRecord(42, RunCause.PatchSet, "keystone", "master", Commit, "refs/changes/45/12345/3", 3, null, Started, Started, Finished,
            ResultPolicy.CombineRun(cells.Select(c => c.Result))),
        cells);

    public static CiRunner.Configuration.GerritOptions Options(bool voting = true, params string[] nonVoting) => new()
    {
        Url = "https://review.example.org",
        CiName = "Acme CI",
        ContactUrl = "https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI",
        Voting = voting,
        NonVotingScenarios = [.. nonVoting],
    };

    public static ReportLinks Links => new(new CiRunner.Configuration.HttpOptions { Listen = "http://127.0.0.1:8080", PublicUrl = "https://ci.example.org" });
}
