using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Reporting;

/// <summary>One cell of a finished run as reports show it: its last attempt, named, with what broke.</summary>
/// <param name="Job">The cell's job with the highest attempt (a retried cell is reported once, by its final try).</param>
/// <param name="Name">The job's name in reports (<see cref="JobNames"/>).</param>
/// <param name="FailedStep">The first step that did not pass, when one did not.</param>
/// <param name="LogFile">The job's log file, absolute; null when the job never started or its log is gone.</param>
public sealed record ReportedCell(JobRecord Job, string Name, StepRecord? FailedStep, string? LogFile)
{
    /// <summary>Every test the job's tempest steps ran (each its own test case in JUnit).</summary>
    public IReadOnlyList<TempestTestRecord> TempestTests { get; init; } = [];

    /// <summary>The final result; a job of a finished run always has one.</summary>
    public JobResult Result => Job.Result ?? JobResult.Error;

    /// <summary>What the flake ledger makes of the result: flaky, known flaky, or null for neither.</summary>
    public CellFlake? Flake { get; init; }

    /// <summary>A failure the ledger knows as flaky: it does not vote -1 on its own.</summary>
    public bool IsKnownFlakyFailure => Flake?.Classification == CellFlake.KnownFlaky;
}

/// <summary>
/// What the flake ledger makes of a cell's result, the same in every report: <c>flaky</c> (it failed, then passed on
/// the same lockfile) or <c>knownflaky</c> (it failed, with a signature that flaked in more than
/// <c>Flakes:VoteThreshold</c> of the cell's last runs).
/// </summary>
/// <param name="Classification"><see cref="Flaky"/> or <see cref="KnownFlaky"/>.</param>
/// <param name="Signature">The failure's signature.</param>
/// <param name="FailedJobId">For a flaky cell, the attempt that failed.</param>
/// <param name="Ledger">The ledger's entry for the cell and signature; null when it has none.</param>
public sealed record CellFlake(string Classification, string Signature, long? FailedJobId, FlakeLedgerEntry? Ledger)
{
    public const string Flaky = "flaky";
    public const string KnownFlaky = "knownflaky";

    /// <summary>How a review line and JUnit say it: <c>known flaky: 3 of the last 20 runs, signature ...</c>.</summary>
    public string Describe() => Classification == KnownFlaky
        ? $"known flaky: {Ledger?.Describe() ?? "no runs"}, signature {Signature}"
        : $"flaky: job {FailedJobId} failed with signature {Signature}, then passed on the same lockfile";
}

/// <summary>A finished run and its cells, in queue order: what every reporter reports.</summary>
public sealed record FinishedRun(RunRecord Run, IReadOnlyList<ReportedCell> Cells)
{
    /// <summary>The bisect whose run this is (cause <c>bisect</c>); null for other runs.</summary>
    public BisectDetail? Bisect { get; init; }

    /// <summary>The run's result from its cells' final attempts, so that a retried cell's earlier error does not colour it.</summary>
    public JobResult Result => Cells.Count > 0 ? ResultPolicy.CombineRun(Cells.Select(c => c.Result)) : Run.Result ?? JobResult.Skipped;
}

/// <summary>Reads a finished run from the store for the reporters.</summary>
public sealed class FinishedRunReader
{
    private readonly RunStore _runs;
    private readonly JobStore _jobs;
    private readonly DataPaths _paths;
    private readonly BisectStore? _bisects;
    private readonly FlakeStore? _flakes;
    private readonly FlakeOptions _flakeOptions;

    public FinishedRunReader(RunStore runs, JobStore jobs, DataPaths paths, BisectStore? bisects = null, FlakeStore? flakes = null, FlakeOptions? flakeOptions = null)
    {
        _bisects = bisects;
        _flakes = flakes;
        _flakeOptions = flakeOptions ?? new FlakeOptions();
        _runs = runs;
        _jobs = jobs;
        _paths = paths;
    }

    /// <summary>The run with one cell per cell key (its highest attempt), or null when the run does not exist.</summary>
    public async Task<FinishedRun?> ReadAsync(long runId, CancellationToken cancellationToken)
    {
        RunDetail? detail = await _runs.GetDetailAsync(runId, cancellationToken);
        if (detail is null)
        {
            return null;
        }

        var cells = new List<ReportedCell>();
        foreach (JobRecord job in LatestAttempts(detail.Jobs))
        {
            JobDetail? jobDetail = await _jobs.GetDetailAsync(job.Id, cancellationToken);
            StepRecord? failed = jobDetail?.Steps.FirstOrDefault(s => s.Result != JobResult.Success);
            cells.Add(new ReportedCell(job, JobNames.For(job), failed, ResolveLog(job.LogPath))
            {
                TempestTests = jobDetail?.TempestTests ?? [],
                Flake = await FlakeOfAsync(detail.Run, job, cancellationToken),
            });
        }

        return new FinishedRun(detail.Run, cells)
        {
            Bisect = detail.Run.Cause == RunCause.Bisect && _bisects is not null ? await _bisects.ForRunAsync(runId, cancellationToken) : null,
        };
    }

    /// <summary>The ledger's word on a cell: flaky when it passed on a re-run, known flaky when its failure's signature flakes often.</summary>
    private async Task<CellFlake?> FlakeOfAsync(RunRecord run, JobRecord job, CancellationToken cancellationToken)
    {
        if (job.FailureSignature is not { } signature || _flakes is null || run.Cause is RunCause.Replay or RunCause.Bisect)
        {
            return null;
        }

        if (job.Result == JobResult.Flaky)
        {
            return new CellFlake(CellFlake.Flaky, signature, job.RerunOf, null);
        }

        if (job.Result is not (JobResult.Failure or JobResult.Timeout))
        {
            return null;
        }

        FlakeLedgerEntry? entry = await _flakes.FindAsync(run.Module, run.Branch, job.CellKey, signature, _flakeOptions.Window, cancellationToken);
        return entry is not null && entry.IsKnownFlaky(_flakeOptions.VoteThreshold) ? new CellFlake(CellFlake.KnownFlaky, signature, null, entry) : null;
    }

    /// <summary>Each cell's job with the highest attempt, in the order the cells were first queued.</summary>
    public static IReadOnlyList<JobRecord> LatestAttempts(IEnumerable<JobRecord> jobs) =>
        jobs.GroupBy(j => j.CellKey, StringComparer.Ordinal)
            .Select(g => (First: g.Min(j => j.Id), Latest: g.OrderByDescending(j => j.Attempt).ThenByDescending(j => j.Id).First()))
            .OrderBy(c => c.First)
            .Select(c => c.Latest)
            .ToList();

    // The stored path is trusted only inside the data directory, like the dashboard's log reader.
    private string? ResolveLog(string? stored)
    {
        if (string.IsNullOrEmpty(stored))
        {
            return null;
        }

        string path = Path.GetFullPath(stored, _paths.Root);
        string root = Path.TrimEndingDirectorySeparator(_paths.Root) + Path.DirectorySeparatorChar;
        return path.StartsWith(root, StringComparison.Ordinal) && File.Exists(path) ? path : null;
    }
}
