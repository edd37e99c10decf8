namespace CiRunner.Reporting;

/// <summary>A finished run as webhooks receive it (JSON, camelCase).</summary>
/// <param name="Event">Always <c>run.finished</c>.</param>
/// <param name="RunId">The run.</param>
/// <param name="Module">The module under test.</param>
/// <param name="Branch">The branch (a change's target branch).</param>
/// <param name="Commit">The commit under test.</param>
/// <param name="Cause">commit, patchset, nightly, manual or recheck.</param>
/// <param name="Result">The run's result (success, failure, error, timeout, cancelled, skipped, interrupted, superseded).</param>
/// <param name="Change">The Gerrit change, for patch-set and recheck runs.</param>
/// <param name="CreatedAt">When the run was created (UTC).</param>
/// <param name="FinishedAt">When its last job ended (UTC).</param>
/// <param name="Url">The run's page.</param>
/// <param name="Cells">One entry per cell (its last attempt).</param>
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
                links.JobLog(c.Job.Id))).ToList());
    }
}

/// <summary>The Gerrit change a run tested.</summary>
public sealed record ChangeBody(string Ref, int? Number, int? PatchSet);

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
    string LogUrl);
