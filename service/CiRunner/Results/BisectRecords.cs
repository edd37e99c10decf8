namespace CiRunner.Results;

/// <summary>One commit of the first-parent history a bisect searches.</summary>
/// <param name="Position">0 for the good commit, the highest for the bad one.</param>
/// <param name="Sha">The commit.</param>
/// <param name="Author">Its author's name and address.</param>
/// <param name="Subject">The first line of its message.</param>
public sealed record BisectCommit(int Position, string Sha, string Author, string Subject);

/// <summary>A bisect to start: which cell, which module's commits, and the job every step replays.</summary>
/// <param name="Module">The module under test of the cell (the run's module).</param>
/// <param name="Branch">Its branch.</param>
/// <param name="CellKey">The cell.</param>
/// <param name="TargetModule">The module whose commits are searched: <paramref name="Module"/>, or a dependency that moved.</param>
/// <param name="Commits">The first-parent history from the good commit (position 0) to the bad one, at least two.</param>
/// <param name="CheckGood">
/// Run the good commit too before trusting it: another module moved between the green job and the red one, so
/// the good commit with everything else as in the red job may fail as well.
/// </param>
/// <param name="MaxJobs"><c>Bisect:MaxJobs</c>.</param>
/// <param name="Retries"><c>Bisect:Retries</c>.</param>
public sealed record NewBisect(
    string Module,
    string Branch,
    string CellKey,
    string TargetModule,
    IReadOnlyList<BisectCommit> Commits,
    bool CheckGood,
    int MaxJobs,
    int Retries)
{
    /// <summary>The last green job of the cell, when the service found the red; null for <c>cirunner bisect</c>.</summary>
    public long? GoodJobId { get; init; }

    /// <summary>
    /// The red job whose lockfile every step replays with <see cref="TargetModule"/>'s commit changed; null for
    /// <c>cirunner bisect</c>, whose first step (the bad commit, run from today's configuration) becomes it.
    /// </summary>
    public long? BadJobId { get; init; }

    /// <summary>Who asked: <c>bisect of job 12</c>, or the user of <c>cirunner bisect</c>.</summary>
    public string? RequestedBy { get; init; }

    /// <summary>The commit of the module under test the bisect's run records.</summary>
    public required string RunCommit { get; init; }
}

/// <summary>A stored bisect.</summary>
public sealed record BisectRecord(
    long Id,
    long RunId,
    string Module,
    string Branch,
    string CellKey,
    string TargetModule,
    string GoodSha,
    string BadSha,
    long? GoodJobId,
    long? BadJobId,
    bool CheckGood,
    int MaxJobs,
    int Retries,
    bool Finished,
    BisectVerdict? Verdict,
    string? CulpritSha,
    string? CulpritAuthor,
    string? CulpritSubject,
    string? Summary,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt)
{
    /// <summary>Whether the commits searched are a dependency's rather than the module under test's.</summary>
    public bool IsDependency => TargetModule != Module;

    /// <summary>One line for <c>show</c>, the pages and the log: the verdict, or that the search is under way.</summary>
    public string Describe() => Verdict switch
    {
        null => $"bisect {Id} of {TargetModule} {Abbreviate(GoodSha)}..{Abbreviate(BadSha)}: searching",
        BisectVerdict.Culprit => $"first bad commit of {TargetModule}: {Abbreviate(CulpritSha!)} \"{CulpritSubject}\" by {CulpritAuthor}",
        _ => $"bisect {Id} of {TargetModule} {Abbreviate(GoodSha)}..{Abbreviate(BadSha)}: {Verdict.Value.ToWire()}: {Summary}",
    };

    /// <summary>The first 10 characters of a commit, as the CLI and pages show commits.</summary>
    public static string Abbreviate(string sha) => sha.Length > 10 ? sha[..10] : sha;
}

/// <summary>One step of a bisect: the job that ran one commit, and how it ended.</summary>
/// <param name="JobId">The step's job (a job of the bisect's run).</param>
/// <param name="Position">The commit's position in <see cref="BisectCommit"/>s.</param>
/// <param name="Sha">That commit.</param>
/// <param name="Result">The job's result; null while it is queued or running.</param>
public sealed record BisectStepRecord(long JobId, int Position, string Sha, JobResult? Result);

/// <summary>A bisect with its history and steps.</summary>
public sealed record BisectDetail(BisectRecord Bisect, IReadOnlyList<BisectCommit> Commits, IReadOnlyList<BisectStepRecord> Steps)
{
    /// <summary>The searched module's URL as the red job's lockfile has it; null when that is gone.</summary>
    public string? TargetUrl { get; init; }

    /// <summary>The link to the culprit on the module's web host, when its URL has a known one.</summary>
    public string? CulpritLink => Bisect.CulpritSha is { } sha ? CommitLinks.For(TargetUrl, sha) : null;

    /// <summary>The verdict as <c>bisect</c>, <c>show</c> and the log say it, with the culprit's link when there is one.</summary>
    public string Describe() => CulpritLink is { } link ? $"{Bisect.Describe()} ({link})" : Bisect.Describe();
}

/// <summary>
/// What a bisect step changes in the lockfile it replays: <see cref="Module"/>'s entries at <see cref="ReplacedSha"/>
/// (the red job's commit of it) run <see cref="Sha"/> instead; everything else stays as in the red job.
/// </summary>
/// <param name="Module">The module searched.</param>
/// <param name="ReplacedSha">Its commit in the red job; null to change its every entry (a dependency in a job made from today's configuration).</param>
/// <param name="Sha">The commit the step runs.</param>
public sealed record BisectPin(string Module, string? ReplacedSha, string Sha)
{
    /// <summary>The lockfile's module entry as this step runs it.</summary>
    public JobModuleRecord Apply(JobModuleRecord entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Module == Module && (ReplacedSha is null || entry.CommitSha == ReplacedSha) ? entry with { CommitSha = Sha } : entry;
    }
}

/// <summary>Where people read a commit: the web page of a module's repository on the hosts puppet-openstack uses.</summary>
public static class CommitLinks
{
    /// <summary>
    /// <c>https://opendev.org/openstack/puppet-nova/commit/SHA</c> for an opendev or GitHub URL (with or without
    /// <c>.git</c>); null for a local path or another host, whose web page (if any) is not known.
    /// </summary>
    public static string? For(string? gitUrl, string sha)
    {
        if (gitUrl is null || !Uri.TryCreate(gitUrl, UriKind.Absolute, out Uri? uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            return null;
        }

        string path = uri.AbsolutePath.TrimEnd('/');
        path = path.EndsWith(".git", StringComparison.Ordinal) ? path[..^4] : path;
        return uri.Host is "opendev.org" or "github.com" or "review.opendev.org" && path.Count(c => c == '/') == 2
            ? $"https://{(uri.Host == "review.opendev.org" ? "opendev.org" : uri.Host)}{path}/commit/{sha}"
            : null;
    }
}
