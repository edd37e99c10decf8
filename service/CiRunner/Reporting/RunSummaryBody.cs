namespace CiRunner.Reporting;

/// <summary>A finished run as webhooks receive it (JSON, camelCase).</summary>
/// <param name="Event">Always <c>run.finished</c>.</param>
/// <param name="RunId">The run.</param>
/// <param name="Module">The module under test.</param>
/// <param name="Branch">The branch (a change's target branch).</param>
/// <param name="Commit">The commit under test.</param>
/// <param name="Cause">commit, patchset, nightly, manual or recheck.</param>
/// <param name="Result">The run's result (success, flaky, failure, error, timeout, cancelled, skipped, interrupted, superseded).</param>
/// <param name="Change">The Gerrit change, for patch-set and recheck runs.</param>
/// <param name="CreatedAt">When the run was created (UTC).</param>
/// <param name="FinishedAt">When its last job ended (UTC).</param>
/// <param name="Url">The run's page.</param>
/// <param name="Cells">One entry per cell (its last attempt); a bisect's run has one cell, its last step.</param>
public sealed record RunSummaryBody(
    string Event,
    long RunId,
    string Module,
    string Branch,
    string Commit,
    string Cause,
    string Result,
    ChangeBody? Change,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string Url,
    IReadOnlyList<CellBody> Cells)
{
    /// <summary>For a bisect's run (cause <c>bisect</c>): the search and its verdict; null for other runs.</summary>
    public BisectBody? Bisect { get; init; }

    public static RunSummaryBody From(FinishedRun run, ReportLinks links)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(links);
        ChangeBody? change = null;
        if (run.Run.ChangeRef is { } changeRef)
        {
            bool parsed = ChangeRef.TryParse(changeRef, out ChangeRef known);
            change = new ChangeBody(changeRef, parsed ? known.Number : null, run.Run.PatchSet ?? (parsed ? known.PatchSet : null));
        }

        return new RunSummaryBody(
            "run.finished",
            run.Run.Id,
            run.Run.Module,
            run.Run.Branch,
            run.Run.CommitSha,
            run.Run.Cause.ToWire(),
            run.Result.ToWire(),
            change,
            run.Run.CreatedAt,
            run.Run.FinishedAt,
            links.Run(run.Run.Id),
            run.Cells.Select(c => new CellBody(
                c.Name,
                c.Job.CellKey,
                c.Job.Kind.ToWire(),
                c.Job.Release,
                c.Job.FromRelease,
                c.Job.Scenario,
                c.Job.Attempt,
                c.Job.Id,
                c.Result.ToWire(),
                c.Job.Duration?.TotalSeconds,
                c.Job.Summary,
                links.Job(c.Job.Id),
                links.JobLog(c.Job.Id))
            {
                Flake = c.Flake is { } flake ? FlakeBody.From(flake) : null,
            }).ToList())
        {
            Bisect = run.Bisect is { } bisect ? BisectBody.From(bisect, links) : null,
        };
    }
}

/// <summary>A bisect in a webhook body and the API: what was searched, each step, and the verdict.</summary>
/// <param name="Id">The bisect.</param>
/// <param name="CellKey">The cell searched.</param>
/// <param name="Module">The module whose commits were searched (the module under test, or a dependency).</param>
/// <param name="Dependency">Whether that is a dependency of the module under test.</param>
/// <param name="GoodCommit">The last commit known good.</param>
/// <param name="BadCommit">The commit the cell turned red at.</param>
/// <param name="Commits">How many commits came after the good one, up to the bad one.</param>
/// <param name="RedJobId">The red job the steps replay (for <c>cirunner bisect</c>, its first step).</param>
/// <param name="GreenJobId">The last green job, when the service started the bisect.</param>
/// <param name="State"><c>running</c> or <c>finished</c>.</param>
/// <param name="Verdict">culprit, notreproducible, notinrange, inconclusive, error or cancelled; null while it runs.</param>
/// <param name="Culprit">The first bad commit, for the culprit verdict.</param>
/// <param name="Summary">How it ended, in a line (flaky midpoints included).</param>
/// <param name="Jobs">How many jobs it ran.</param>
/// <param name="Steps">Each step: commit, position, job and result.</param>
public sealed record BisectBody(
    long Id,
    string CellKey,
    string Module,
    bool Dependency,
    string GoodCommit,
    string BadCommit,
    int Commits,
    long? RedJobId,
    long? GreenJobId,
    string State,
    string? Verdict,
    CulpritBody? Culprit,
    string? Summary,
    int Jobs,
    IReadOnlyList<BisectStepBody> Steps)
{
    public static BisectBody From(Results.BisectDetail detail, ReportLinks? links)
    {
        ArgumentNullException.ThrowIfNull(detail);
        Results.BisectRecord bisect = detail.Bisect;
        return new BisectBody(
            bisect.Id,
            bisect.CellKey,
            bisect.TargetModule,
            bisect.IsDependency,
            bisect.GoodSha,
            bisect.BadSha,
            detail.Commits.Count - 1,
            bisect.BadJobId,
            bisect.GoodJobId,
            bisect.Finished ? "finished" : "running",
            bisect.Verdict?.ToWire(),
            bisect.CulpritSha is { } sha ? new CulpritBody(sha, bisect.CulpritAuthor!, bisect.CulpritSubject!, detail.CulpritLink) : null,
            bisect.Summary,
            detail.Steps.Count,
            detail.Steps.Select(s => new BisectStepBody(s.Position, s.Sha, detail.Commits[s.Position].Subject, s.JobId, s.Result?.ToWire(), links?.Job(s.JobId))).ToList());
    }
}

/// <summary>The first bad commit: sha, author, subject and, for a module on opendev.org or github.com, its web page.</summary>
public sealed record CulpritBody(string Sha, string Author, string Subject, string? Url);

/// <summary>One step of a bisect.</summary>
public sealed record BisectStepBody(int Position, string Commit, string Subject, long JobId, string? Result, string? Url);

/// <summary>The Gerrit change a run tested.</summary>
public sealed record ChangeBody(string Ref, int? Number, int? PatchSet);

/// <summary>What the flake ledger made of a cell's result (see <c>CellFlake</c>).</summary>
/// <param name="Classification"><c>flaky</c> (failed, then passed on the same lockfile) or <c>knownflaky</c> (failed with a signature that flakes often).</param>
/// <param name="Signature">The failure's signature.</param>
/// <param name="FailedJobId">For a flaky cell, the attempt that failed.</param>
/// <param name="FlakyRuns">Of the cell's last <paramref name="Runs"/> runs, how many flaked with this signature (known flaky only).</param>
/// <param name="Runs">How many runs the ledger's window held (known flaky only).</param>
/// <param name="Description">The words the review and JUnit use.</param>
public sealed record FlakeBody(string Classification, string Signature, long? FailedJobId, int? FlakyRuns, int? Runs, string Description)
{
    public static FlakeBody From(CellFlake flake)
    {
        ArgumentNullException.ThrowIfNull(flake);
        return new FlakeBody(flake.Classification, flake.Signature, flake.FailedJobId, flake.Ledger?.Flaky, flake.Ledger?.Runs, flake.Describe());
    }
}

/// <summary>One cell of a run in a webhook body.</summary>
public sealed record CellBody(
    string Job,
    string CellKey,
    string Kind,
    string Release,
    string? FromRelease,
    string Scenario,
    int Attempt,
    long JobId,
    string Result,
    double? DurationSeconds,
    string? Summary,
    string Url,
    string LogUrl)
{
    /// <summary>Flaky or known flaky, with the signature; null for neither.</summary>
    public FlakeBody? Flake { get; init; }
}
