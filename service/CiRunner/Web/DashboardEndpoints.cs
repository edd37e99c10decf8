using System.Globalization;
using System.Text;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Results;
using static CiRunner.Web.Html;

namespace CiRunner.Web;

/// <summary>
/// The server-rendered dashboard: the matrix (<c>/</c>), runs, a run, a job with its log, the queue and the
/// modules. Plain links and tables, no script; pages of running work reload themselves.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>The job page shows this much of the end of the log; the whole log is one link away.</summary>
    private const int LogTailBytes = 256 * 1024;

    private const int RefreshSeconds = 5;

    public static void MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder pages = endpoints.MapGroup("").AddEndpointFilter(ApiAccess.RequirePageAccess);
        pages.MapGet("/", MatrixAsync);
        pages.MapGet("/runs", RunsAsync);
        pages.MapGet("/runs/{id:long}", RunAsync);
        pages.MapGet("/jobs/{id:long}", JobAsync);
        pages.MapGet("/queue", QueueAsync);
        pages.MapGet("/modules", ModulesAsync);
    }

    private static async Task<IResult> MatrixAsync(CellResultStore cells, CiRunnerSettings settings, ScenarioCatalog catalog, TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyList<CellResultRecord> all = await cells.ListAllAsync(cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        var body = new StringBuilder(ScenarioEndpoints.Banner(catalog));
        body.Append("<p class=\"meta\">The latest result of every matrix cell. Each cell links to the job that decided it. ")
            .Append("Symbols: ✓ passed, ✗ failed, ! error, ◔ timeout, ⊘ cancelled, ↯ interrupted.</p>");
        if (all.Count == 0)
        {
            body.Append("<p>No cell has a result yet. Runs appear under <a href=\"/runs\">Runs</a> as they start.</p>");
        }

        foreach (IGrouping<(string Module, string Branch), CellResultRecord> grid in all.GroupBy(c => (c.Module, c.Branch)))
        {
            // A cell key is "<release or from->to>/<scenario>[:kind]": releases are the columns, scenarios the rows.
            List<(string Release, string Scenario, CellResultRecord Cell)> parsed = grid.Select(c => SplitKey(c)).ToList();
            List<string> releases = OrderReleases(parsed.Select(p => p.Release).Distinct(StringComparer.Ordinal), settings);
            List<string> scenarios = parsed.Select(p => p.Scenario).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

            string caption = $"{grid.Key.Module} · {grid.Key.Branch}";
            body.Append("<h2 id=\"").Append(E(Anchor(caption))).Append("\">").Append(E(caption)).Append("</h2>")
                .Append("<div class=\"scroll\"><table class=\"matrix\"><caption class=\"meta\">")
                .Append("<a href=\"/runs?module=").Append(Uri.EscapeDataString(grid.Key.Module)).Append("&amp;branch=").Append(Uri.EscapeDataString(grid.Key.Branch))
                .Append("\">runs of ").Append(E(caption)).Append("</a></caption><thead><tr><th scope=\"col\">scenario</th>");
            foreach (string release in releases)
            {
                body.Append("<th scope=\"col\">").Append(E(release)).Append("</th>");
            }

            body.Append("</tr></thead><tbody>");
            foreach (string scenario in scenarios)
            {
                body.Append("<tr><th scope=\"row\">").Append(E(scenario)).Append("</th>");
                foreach (string release in releases)
                {
                    CellResultRecord? cell = parsed.FirstOrDefault(p => p.Release == release && p.Scenario == scenario).Cell;
                    if (cell is null)
                    {
                        body.Append("<td class=\"cell\"><span class=\"none meta\">no result</span></td>");
                        continue;
                    }

                    (string symbol, string word, string css) = Describe(cell.Result);
                    body.Append("<td class=\"cell ").Append(css).Append("\" data-cell=\"").Append(E(cell.CellKey)).Append("\">")
                        .Append("<a href=\"/jobs/").Append(E(cell.JobId)).Append("\" aria-label=\"").Append(E($"{cell.CellKey}: {word}, job {cell.JobId}")).Append("\">")
                        .Append("<span class=\"sym\" aria-hidden=\"true\">").Append(symbol).Append("</span><span class=\"word\">").Append(word).Append("</span><br>")
                        .Append("<span class=\"meta\"><code>").Append(E(ShortSha(cell.CommitSha))).Append("</code> ").Append(Age(cell.FinishedAt, now)).Append("</span>")
                        .Append("</a></td>");
                }

                body.Append("</tr>");
            }

            body.Append("</tbody></table></div>");
        }

        return Page("Matrix", body.ToString(), refreshSeconds: 60);
    }

    private static async Task<IResult> RunsAsync(string? module, string? branch, RunStore runs, TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunSummary> recent = await runs.ListRecentAsync(module, branch, 100, cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        var body = new StringBuilder();
        if (module is not null || branch is not null)
        {
            body.Append("<p>Filtered: ").Append(E($"{module} {branch}")).Append(" · <a href=\"/runs\">all runs</a></p>");
        }

        body.Append("<div class=\"scroll\"><table><thead><tr><th>run</th><th>result</th><th>module</th><th>branch</th><th>commit</th><th>cause</th><th>jobs passed</th><th>created</th><th>duration</th></tr></thead><tbody>");
        foreach (RunSummary summary in recent)
        {
            RunRecord run = summary.Run;
            body.Append("<tr><td><a href=\"/runs/").Append(E(run.Id)).Append("\">#").Append(E(run.Id)).Append("</a></td>")
                .Append("<td>").Append(Badge(run.Result, run.FinishedAt is null ? (run.StartedAt is null ? JobState.Queued : JobState.Running) : JobState.Finished)).Append("</td>")
                .Append("<td>").Append(E(run.Module)).Append("</td><td>").Append(E(run.Branch)).Append("</td>")
                .Append("<td><code>").Append(E(ShortSha(run.CommitSha))).Append("</code>").Append(run.ChangeRef is null ? "" : $" <span class=\"meta\">{E(run.ChangeRef)}</span>").Append("</td>")
                .Append("<td>").Append(E(run.Cause.ToString().ToLowerInvariant())).Append(run.RequestedBy is null ? "" : $" <span class=\"meta\">by {E(run.RequestedBy)}</span>").Append("</td>")
                .Append("<td>").Append(E(summary.PassedCount)).Append(" / ").Append(E(summary.JobCount)).Append("</td>")
                .Append("<td>").Append(Age(run.CreatedAt, now)).Append("</td>")
                .Append("<td>").Append(Duration(run.FinishedAt - run.StartedAt)).Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");
        if (recent.Count == 0)
        {
            body.Append("<p>No runs yet.</p>");
        }

        return Page("Runs", body.ToString(), refreshSeconds: 30);
    }

    private static async Task<IResult> RunAsync(long id, RunStore runs, ReportStore reports, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await runs.GetDetailAsync(id, cancellationToken) is not { } detail)
        {
            return Page("Not found", $"<p>Run {E(id)} does not exist. <a href=\"/runs\">Recent runs</a></p>", statusCode: StatusCodes.Status404NotFound);
        }

        RunRecord run = detail.Run;
        DateTimeOffset now = time.GetUtcNow();
        var body = new StringBuilder();
        body.Append("<dl><dt>module</dt><dd>").Append(E(run.Module)).Append("</dd><dt>branch</dt><dd>").Append(E(run.Branch)).Append("</dd>")
            .Append("<dt>commit</dt><dd><code>").Append(E(run.CommitSha)).Append("</code></dd>")
            .Append(run.ChangeRef is null ? "" : $"<dt>change</dt><dd>{E(run.ChangeRef)}</dd>")
            .Append("<dt>cause</dt><dd>").Append(E(run.Cause.ToString().ToLowerInvariant())).Append(run.RequestedBy is null ? "" : $" by {E(run.RequestedBy)}").Append("</dd>")
            .Append("<dt>result</dt><dd>").Append(Badge(run.Result, run.FinishedAt is null ? JobState.Running : JobState.Finished)).Append("</dd>")
            .Append("<dt>created</dt><dd>").Append(Age(run.CreatedAt, now)).Append("</dd></dl>");
        AppendJobsTable(body, detail.Jobs, now);
        AppendReports(body, await reports.ListForRunAsync(run.Id, cancellationToken), now);
        return Page($"Run #{run.Id}", body.ToString(), refreshSeconds: run.FinishedAt is null ? RefreshSeconds : null);
    }

    /// <summary>The summary without the result word it starts with (<c>failure: step ...</c>): the badge before it says that already.</summary>
    private static string? WithoutResultWord(JobRecord job)
    {
        string prefix = job.Result is { } result ? $"{DbValue.Text(result)}: " : "";
        return prefix.Length > 0 && job.Summary is { } summary && summary.StartsWith(prefix, StringComparison.Ordinal) ? summary[prefix.Length..] : job.Summary;
    }

    /// <summary>Where each report of a finished run stands: a held or failed one is the operator's to act on.</summary>
    private static void AppendReports(StringBuilder body, IReadOnlyList<RunReportRecord> reports, DateTimeOffset now)
    {
        if (reports.Count == 0)
        {
            return;
        }

        body.Append("<h2>Reports</h2><div class=\"scroll\"><table id=\"reports\"><thead><tr><th>reporter</th><th>state</th><th>attempts</th><th>detail</th><th>updated</th></tr></thead><tbody>");
        foreach (RunReportRecord report in reports)
        {
            string state = DbValue.Text(report.State);
            string css = report.State switch
            {
                ReportState.Sent => "result-success",
                ReportState.Failed => "result-failure",
                ReportState.Held => "result-error",
                _ => "result-skipped",
            };
            string next = report.State == ReportState.Pending && report.NextAttemptAt is { } at ? $" <span class=\"meta\">next attempt at {E(at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))} UTC</span>" : "";
            string detail = string.Join(" · ", new[] { report.Detail, report.LastError is null ? null : $"last error: {report.LastError}" }.Where(t => t is not null));
            body.Append("<tr><td>").Append(E(report.Reporter)).Append("</td>")
                .Append("<td class=\"").Append(css).Append("\">").Append(E(state)).Append(next).Append("</td>")
                .Append("<td>").Append(E(report.Attempts)).Append("</td>")
                .Append("<td>").Append(E(detail)).Append("</td>")
                .Append("<td>").Append(Age(report.UpdatedAt, now)).Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");
    }

    private static void AppendJobsTable(StringBuilder body, IReadOnlyList<JobRecord> jobs, DateTimeOffset now)
    {
        HashSet<long> retried = [.. jobs.Where(j => j.RetryOf is not null).Select(j => j.RetryOf!.Value)];
        body.Append("<h2>Jobs</h2><div class=\"scroll\"><table><thead><tr><th>job</th><th>cell</th><th>result</th><th>summary</th><th>started</th><th>duration</th></tr></thead><tbody>");
        foreach (JobRecord job in jobs)
        {
            // Earlier attempts of a retried cell stay listed, marked, and do not count in the run's result.
            string attempt = job.Attempt > 1 ? $" <span class=\"meta\">attempt {E(job.Attempt)}</span>" : "";
            string retriedMark = retried.Contains(job.Id) ? " <span class=\"meta\">(retried)</span>" : "";
            body.Append("<tr><td><a href=\"/jobs/").Append(E(job.Id)).Append("\">#").Append(E(job.Id)).Append("</a></td>")
                .Append("<td>").Append(E(job.CellKey)).Append(attempt).Append(retriedMark).Append("</td>")
                .Append("<td>").Append(Badge(job.Result, job.State)).Append("</td>")
                .Append("<td>").Append(E(job.Summary)).Append(job.PrunedAt is null ? "" : " <span class=\"meta\">· log expired (Retention:MaxAge)</span>").Append("</td>")
                .Append("<td>").Append(Age(job.StartedAt, now)).Append("</td>")
                .Append("<td>").Append(Duration(job.Duration)).Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");
    }

    private static async Task<IResult> JobAsync(long id, JobStore jobs, RunStore runs, JobLogs logs, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await jobs.GetDetailAsync(id, cancellationToken) is not { } detail)
        {
            return Page("Not found", $"<p>Job {E(id)} does not exist. <a href=\"/runs\">Recent runs</a></p>", statusCode: StatusCodes.Status404NotFound);
        }

        JobRecord job = detail.Job;
        RunRecord? run = await runs.GetAsync(job.RunId, cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        (string symbol, string word, string css) = Describe(job.Result, job.State);
        var body = new StringBuilder();
        body.Append("<p class=\"").Append(css).Append("\" style=\"padding:.4rem .6rem\" id=\"job-result\"><span class=\"sym\" aria-hidden=\"true\">").Append(symbol)
            .Append("</span>").Append(word).Append(job.Summary is null ? "" : $": {E(WithoutResultWord(job))}").Append("</p>");
        body.Append("<dl><dt>run</dt><dd><a href=\"/runs/").Append(E(job.RunId)).Append("\">#").Append(E(job.RunId)).Append("</a>")
            .Append(run is null ? "" : $" {E(run.Module)} · {E(run.Branch)} · <code>{E(run.CommitSha)}</code>").Append("</dd>")
            .Append("<dt>cell</dt><dd>").Append(E(job.CellKey)).Append(" (").Append(E(job.Kind.ToString().ToLowerInvariant())).Append(", attempt ").Append(E(job.Attempt)).Append(")</dd>")
            .Append("<dt>image</dt><dd><code>").Append(E(job.ImageId)).Append("</code></dd>")
            .Append("<dt>queued</dt><dd>").Append(Age(job.QueuedAt, now)).Append("</dd>")
            .Append("<dt>started</dt><dd>").Append(Age(job.StartedAt, now)).Append("</dd>")
            .Append("<dt>duration</dt><dd>").Append(Duration(job.Duration)).Append("</dd></dl>");

        body.Append("<h2>Steps</h2><div class=\"scroll\"><table><thead><tr><th>#</th><th>phase</th><th>step</th><th>kind</th><th>result</th><th>exit code</th><th>duration</th></tr></thead><tbody>");
        foreach (StepRecord step in detail.Steps)
        {
            body.Append("<tr><td>").Append(E(step.Ordinal)).Append("</td><td>").Append(E(step.Phase)).Append("</td><td>").Append(E(step.Name)).Append("</td>")
                .Append("<td>").Append(E(step.Kind.ToString().ToLowerInvariant())).Append("</td><td>").Append(Badge(step.Result)).Append("</td>")
                .Append("<td>").Append(step.ExitCode is int code ? E(code) : "").Append("</td><td>").Append(Duration(step.Duration)).Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");

        body.Append("<h2>Module commits</h2><div class=\"scroll\"><table><thead><tr><th>phase</th><th>module</th><th>ref</th><th>commit</th><th>from</th></tr></thead><tbody>");
        foreach (JobModuleRecord module in detail.Modules)
        {
            body.Append("<tr><td>").Append(E(module.Phase)).Append("</td><td>").Append(E(module.Module)).Append("</td><td>").Append(E(module.Ref ?? "(default branch)")).Append("</td>")
                .Append("<td><code>").Append(E(module.CommitSha)).Append("</code></td><td>").Append(E(UrlCredentials.RedactText(UrlCredentials.Redact(module.GitUrl)))).Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");

        // The rest of the lockfile: the packages the upgrade phase moved the node onto.
        if (job.PackageSnapshot is { } snapshot)
        {
            body.Append("<h2>Package snapshot</h2><dl id=\"package-snapshot\"><dt>phase</dt><dd>upgrade</dd><dt>release</dt><dd>").Append(E(snapshot.Release))
                .Append("</dd><dt>id</dt><dd><code>").Append(E(snapshot.Id)).Append("</code></dd><dt>packages</dt><dd>").Append(E(snapshot.PackageCount))
                .Append("</dd><dt>volume</dt><dd><code>").Append(E(snapshot.Volume)).Append("</code></dd></dl>");
        }

        body.Append("<h2>Idempotency changes</h2>");
        if (detail.Changes.Count == 0)
        {
            body.Append("<p class=\"meta\">None: a second apply changed nothing (or no idempotency step ran).</p>");
        }
        else
        {
            body.Append("<div class=\"scroll\"><table><thead><tr><th>resource</th><th>property</th><th>was</th><th>wanted</th><th>declared in</th></tr></thead><tbody>");
            foreach (IdempotencyChangeRecord change in detail.Changes)
            {
                string where = change.ManifestFile is null ? E(change.Module) : $"{E(change.ManifestFile)}{(change.Line is int line ? ":" + E(line) : "")}";
                body.Append("<tr><td>").Append(E($"{change.ResourceType}[{change.Title}]")).Append("</td><td>").Append(E(change.Property)).Append("</td>")
                    .Append("<td><code>").Append(E(change.PreviousValue)).Append("</code></td><td><code>").Append(E(change.DesiredValue)).Append("</code></td>")
                    .Append("<td>").Append(where).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        AppendTempest(body, detail);

        body.Append("<h2>Log</h2>");
        (string Text, bool Truncated)? tail = await logs.ReadTailAsync(id, LogTailBytes, cancellationToken);
        if (tail is null && await logs.ExpiredAsync(id, cancellationToken) is { } expired)
        {
            body.Append("<p class=\"meta\" id=\"log-expired\"><span class=\"sym\" aria-hidden=\"true\">⌛</span>").Append(E(expired)).Append("</p>");
        }
        else if (tail is not { } log)
        {
            body.Append("<p class=\"meta\">").Append(job.StartedAt is null ? "No log yet." : "No log: the job ended before a container ran.").Append("</p>");
        }
        else
        {
            body.Append("<p><a href=\"/jobs/").Append(E(id)).Append("/log\">Whole log as text</a>")
                .Append(log.Truncated ? " (below: its end only)" : "").Append(job.State == JobState.Running ? $" · this page reloads every {RefreshSeconds} s while the job runs" : "").Append("</p>")
                .Append("<pre class=\"log\" id=\"log\">").Append(E(log.Text)).Append("</pre>");
        }

        return Page($"Job #{job.Id}: {job.CellKey}", body.ToString(), refreshSeconds: job.State == JobState.Finished ? null : RefreshSeconds);
    }

    /// <summary>
    /// Each tempest step's counts, its failed tests with their tracebacks, then (folded) the skipped tests with their
    /// reasons and the passed ones: what a maintainer reads first when a deployment passes Puppet and fails Tempest.
    /// </summary>
    private static void AppendTempest(StringBuilder body, JobDetail detail)
    {
        if (detail.TempestTests.Count == 0)
        {
            return;
        }

        body.Append("<section id=\"tempest\"><h2>Tempest</h2>");
        foreach (IGrouping<long, TempestTestRecord> step in detail.TempestTests.GroupBy(t => t.StepId))
        {
            TempestTestRecord first = step.First();
            List<TempestTestRecord> failed = step.Where(t => t.Status == TempestTestStatus.Failed).ToList();
            List<TempestTestRecord> skipped = step.Where(t => t.Status == TempestTestStatus.Skipped).ToList();
            List<TempestTestRecord> passed = step.Where(t => t.Status == TempestTestStatus.Passed).ToList();
            string name = detail.Steps.FirstOrDefault(s => s.Id == step.Key)?.Name ?? "tempest";
            body.Append("<h3>Step ").Append(E(first.StepOrdinal)).Append(' ').Append(E(name)).Append(", phase ").Append(E(first.Phase)).Append("</h3>")
                .Append("<p class=\"tempest-counts\">").Append(E(step.Count())).Append(" tests: ")
                .Append(Badge(JobResult.Success)).Append(' ').Append(E(passed.Count)).Append(" · ")
                .Append(Badge(JobResult.Failure)).Append(' ').Append(E(failed.Count)).Append(" · ")
                .Append(Badge(JobResult.Skipped)).Append(' ').Append(E(skipped.Count)).Append("</p>");
            foreach (TempestTestRecord test in failed)
            {
                body.Append("<details class=\"tempest-failed\" open><summary>").Append(Badge(JobResult.Failure)).Append(" <code>").Append(E(test.TestId)).Append("</code> ")
                    .Append("<span class=\"meta\">").Append(Duration(test.Duration)).Append(test.FailureLine is { } line ? $" · {E(line)}" : "").Append("</span></summary>")
                    .Append("<pre class=\"log\">").Append(E(test.Traceback)).Append("</pre></details>");
            }

            AppendTempestList(body, "skipped", skipped, t => t.SkipReason);
            AppendTempestList(body, "passed", passed, _ => null);
        }

        body.Append("</section>");
    }

    private static void AppendTempestList(StringBuilder body, string status, List<TempestTestRecord> tests, Func<TempestTestRecord, string?> note)
    {
        if (tests.Count == 0)
        {
            return;
        }

        body.Append("<details class=\"tempest-").Append(status).Append("\"><summary>").Append(E(tests.Count)).Append(' ').Append(status).Append("</summary><ul>");
        foreach (TempestTestRecord test in tests)
        {
            body.Append("<li><code>").Append(E(test.TestId)).Append("</code> <span class=\"meta\">").Append(Duration(test.Duration))
                .Append(note(test) is { Length: > 0 } text ? $" · {E(text)}" : "").Append("</span></li>");
        }

        body.Append("</ul></details>");
    }

    private static async Task<IResult> QueueAsync(JobQueue queue, JobStore jobs, RunStore runs, DockerEngineMonitor engine, JobDispatcher dispatcher, [Microsoft.AspNetCore.Mvc.FromServices] IEnumerable<IJobStartGate> gates, TimeProvider time, CancellationToken cancellationToken)
    {
        string? waiting = QueueView.Waiting(engine, dispatcher, gates);
        IReadOnlyList<QueueEntryBody> entries = await QueueView.ListAsync(queue, jobs, runs, waiting, cancellationToken);
        IReadOnlyList<JobRecord> running = await jobs.ListByStateAsync(JobState.Running, cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        var body = new StringBuilder();
        if (waiting is not null)
        {
            body.Append("<p class=\"result-error\" style=\"padding:.4rem .6rem\" id=\"queue-waiting\" role=\"status\">Queued jobs are ").Append(E(waiting)).Append("</p>");
        }

        body.Append("<h2>Running (").Append(E(running.Count)).Append(")</h2>");
        AppendJobsTable(body, running, now);
        body.Append("<h2>Waiting (").Append(E(queue.Count)).Append(")</h2><div class=\"scroll\"><table><thead><tr><th>position</th><th>job</th><th>run</th><th>module</th><th>branch</th><th>cell</th><th>priority</th><th>queued</th></tr></thead><tbody>");
        foreach (QueueEntryBody entry in entries)
        {
            body.Append("<tr><td>").Append(E(entry.Position)).Append("</td><td><a href=\"/jobs/").Append(E(entry.JobId)).Append("\">#").Append(E(entry.JobId)).Append("</a></td>")
                .Append("<td><a href=\"/runs/").Append(E(entry.RunId)).Append("\">#").Append(E(entry.RunId)).Append("</a></td>")
                .Append("<td>").Append(E(entry.Module)).Append("</td><td>").Append(E(entry.Branch)).Append("</td><td>").Append(E(entry.CellKey)).Append("</td>")
                .Append("<td>").Append(E(entry.Priority.ToString().ToLowerInvariant())).Append("</td><td>").Append(Age(entry.QueuedAt, now)).Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");
        return Page("Queue", body.ToString(), refreshSeconds: 10);
    }

    private static async Task<IResult> ModulesAsync(CiRunnerSettings settings, PollStatusStore pollStatus, PollStateStore pollState, TimeProvider time, CancellationToken cancellationToken)
    {
        var statuses = (await pollStatus.ListAsync(cancellationToken)).ToDictionary(s => s.Module, StringComparer.Ordinal);
        IReadOnlyList<BranchHeadRecord> heads = await pollState.ListAsync(null, cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        var body = new StringBuilder();
        body.Append("<div class=\"scroll\"><table><thead><tr><th>module</th><th>remote</th><th>last poll</th><th>last success</th><th>failures in a row</th><th>last error</th><th>branch heads</th></tr></thead><tbody>");
        foreach (TrackedModule module in settings.Modules)
        {
            ModulePollStatus? status = statuses.GetValueOrDefault(module.Name);
            bool failing = status is { ConsecutiveFailures: > 0 };
            body.Append("<tr><td>").Append(E(module.Name)).Append("</td><td><code>").Append(E(UrlCredentials.RedactText(UrlCredentials.Redact(module.Url)))).Append("</code></td>")
                .Append("<td>").Append(status is null ? "never" : Age(status.LastPollAt, now)).Append("</td>")
                .Append("<td>").Append(Age(status?.LastSuccessAt, now)).Append("</td>")
                .Append("<td").Append(failing ? " class=\"result-error\"" : "").Append('>').Append(failing ? "! " : "").Append(E(status?.ConsecutiveFailures ?? 0)).Append("</td>")
                .Append("<td>").Append(E(status?.LastError)).Append(status?.LastErrorAt is null ? "" : $" <span class=\"meta\">{Age(status.LastErrorAt, now)}</span>").Append("</td><td>");
            foreach (BranchHeadRecord head in heads.Where(h => h.Module == module.Name && h.DeletedAt is null))
            {
                body.Append("<div>").Append(E(head.Branch)).Append(" <code>").Append(E(ShortSha(head.CommitSha))).Append("</code></div>");
            }

            body.Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");
        return Page("Modules", body.ToString(), refreshSeconds: 60);
    }

    private static (string Release, string Scenario, CellResultRecord Cell) SplitKey(CellResultRecord cell)
    {
        // Keys read "<release or from->to>/<scenario>[:kind]": the kind goes to the column, so an upgrade cell sits in
        // the scenario's row under its "from->to" column instead of in a row of its own.
        int slash = cell.CellKey.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (cell.CellKey, "", cell);
        }

        string column = cell.CellKey[..slash];
        string scenario = cell.CellKey[(slash + 1)..];
        int colon = scenario.LastIndexOf(':');
        if (colon >= 0)
        {
            string kind = scenario[(colon + 1)..];
            scenario = scenario[..colon];
            column = kind == "upgrade" ? column : $"{column} {kind}";
        }

        return (column, scenario, cell);
    }

    /// <summary>Configured releases in their configured order first (oldest to newest), then upgrade and unknown columns.</summary>
    private static List<string> OrderReleases(IEnumerable<string> releases, CiRunnerSettings settings)
    {
        List<string> configured = settings.Releases.Select(r => r.Name).ToList();
        return releases
            .OrderBy(r => configured.IndexOf(r) is int i and >= 0 ? i : int.MaxValue)
            .ThenBy(r => r, StringComparer.Ordinal)
            .ToList();
    }

    private static string Anchor(string text) => new(text.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());
}
