using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>One day's value of a <see cref="HealthFigure"/> (a UTC day); null when nothing was measured that day.</summary>
public sealed record HealthPoint(DateOnly Day, double? Value);

/// <summary>
/// One figure of the CI health page: its value over the whole window and one point per UTC day, oldest first. The
/// value is null when nothing was measured; <see cref="Note"/> says why a figure is not what its name promises.
/// </summary>
public sealed record HealthFigure(double? Value, IReadOnlyList<HealthPoint> Daily)
{
    /// <summary>Why the figure is missing or partial ("not yet measured", "now only"); null for a plain figure.</summary>
    public string? Note { get; init; }
}

/// <summary>The jobs the rates are computed from: every attempt that finished in the window, by result.</summary>
/// <param name="Finished">All of them but superseded and skipped jobs, which never ran.</param>
/// <param name="Passed">Ended <c>success</c>.</param>
/// <param name="Failed">Ended <c>failure</c>: the scenario failed.</param>
/// <param name="Timeout">Ended <c>timeout</c>.</param>
/// <param name="Error">Ended <c>error</c>: the infrastructure broke.</param>
public sealed record HealthJobCounts(int Finished, int Passed, int Failed, int Timeout, int Error);

/// <summary>How long one scenario's jobs ran (start to end), in seconds.</summary>
public sealed record ScenarioDurations(string Scenario, int Jobs, HealthFigure P50Seconds, HealthFigure P95Seconds);

/// <summary>How many reports one reporter settled as one state in the window, and per day.</summary>
public sealed record ReportTally(string Reporter, ReportState State, HealthFigure Count);

/// <summary>A report that was held or failed in the window, with why: the operator's to act on.</summary>
public sealed record ReportProblem(long RunId, string Reporter, ReportState State, string Reason, DateTimeOffset At);

/// <summary>A module whose latest polls failed.</summary>
public sealed record PollFailure(string Module, int ConsecutiveFailures, string? LastError, DateTimeOffset? LastErrorAt);

/// <summary>How CI went over a window of whole UTC days up to now: what <c>/health</c> and <c>GET /api/health</c> show.</summary>
/// <param name="From">The start of the first day.</param>
/// <param name="Until">Now: the end of the window.</param>
/// <param name="Days">The window's days, oldest first; every figure has one point per day.</param>
/// <param name="Jobs">The counts behind the rates.</param>
/// <param name="PassRate">passed / (passed + flaky + failed + timeout): the scenarios' verdicts, infrastructure errors left out; a flaky job did not pass at once.</param>
/// <param name="FlakyRate">flaky / (passed + flaky + failed + timeout): the share of verdicts that passed only on a re-run of the same lockfile.</param>
/// <param name="InfrastructureErrorRate">error / <see cref="HealthJobCounts.Finished"/>.</param>
/// <param name="QueueWaitP50Seconds">Median time from queued to started.</param>
/// <param name="QueueWaitP95Seconds">95th percentile of it.</param>
/// <param name="DurationByScenario">Job duration percentiles per scenario, by scenario name.</param>
/// <param name="Reports">Settled reports (sent, held, failed) per reporter and state.</param>
/// <param name="ReportProblems">The newest held and failed reports, newest first.</param>
/// <param name="PollsFailing">Modules whose latest poll failed, now (see its note).</param>
/// <param name="FailingPolls">Those modules.</param>
/// <param name="Truncated">More rows fell in the window than are read: the oldest days are incomplete.</param>
public sealed record CiHealth(
    DateTimeOffset From,
    DateTimeOffset Until,
    IReadOnlyList<DateOnly> Days,
    HealthJobCounts Jobs,
    HealthFigure PassRate,
    HealthFigure FlakyRate,
    HealthFigure InfrastructureErrorRate,
    HealthFigure QueueWaitP50Seconds,
    HealthFigure QueueWaitP95Seconds,
    IReadOnlyList<ScenarioDurations> DurationByScenario,
    IReadOnlyList<ReportTally> Reports,
    IReadOnlyList<ReportProblem> ReportProblems,
    HealthFigure PollsFailing,
    IReadOnlyList<PollFailure> FailingPolls,
    bool Truncated);

/// <summary>
/// The CI health figures, computed from the jobs and reports of a window of days. The rows of the window are read
/// (newest first, at most <see cref="MaxRows"/> of each) and the rates and percentiles computed over them here: at a
/// few thousand jobs a day that is cheaper than teaching two SQL dialects percentiles.
/// </summary>
public sealed class CiHealthStore
{
    /// <summary>The window the page and the API show, in days.</summary>
    public const int DefaultDays = 14;

    /// <summary>The most job rows, and report rows, one reading takes; a window with more is marked truncated.</summary>
    public const int MaxRows = 100_000;

    /// <summary>How many held and failed reports are listed with their reasons.</summary>
    public const int MaxProblems = 50;

    internal const string PollsNote = "now only: the store keeps each module's latest poll, not a history";

    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly PollStatusStore _pollStatus;

    public CiHealthStore(ResultsDatabase database, TimeProvider timeProvider, PollStatusStore pollStatus)
    {
        _database = database;
        _timeProvider = timeProvider;
        _pollStatus = pollStatus;
    }

    /// <summary>The figures over the last <paramref name="days"/> UTC days, today included (so far).</summary>
    public async Task<CiHealth> ReadAsync(int days, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);

        // Superseded and skipped jobs never ran: they say nothing of the infrastructure or the scenarios. Only a
        // finished job has finished_at (JobFinisher sets both), and a condition on state would lead SQLite to walk
        // ix_jobs_state over nearly every job, slower than the scan.
        const string SelectJobs = """
            SELECT jobs.scenario AS Scenario, jobs.result AS Result, jobs.queued_at AS QueuedAt, jobs.started_at AS StartedAt,
                   jobs.finished_at AS FinishedAt, jobs.duration_ms AS DurationMs
            FROM jobs
            WHERE jobs.finished_at >= @From AND jobs.finished_at <= @Until
              AND jobs.result NOT IN ('superseded', 'skipped')
            ORDER BY jobs.finished_at DESC LIMIT @Limit
            """;
        const string SelectReports = """
            SELECT run_reports.run_id AS RunId, run_reports.reporter AS Reporter, run_reports.state AS State,
                   run_reports.detail AS Detail, run_reports.last_error AS LastError, run_reports.updated_at AS UpdatedAt
            FROM run_reports
            WHERE run_reports.state IN ('sent', 'held', 'failed') AND run_reports.updated_at >= @From AND run_reports.updated_at <= @Until
            ORDER BY run_reports.updated_at DESC LIMIT @Limit
            """;

        DateTimeOffset until = DbValue.Now(_timeProvider);
        DateOnly today = DateOnly.FromDateTime(until.UtcDateTime);
        List<DateOnly> window = Enumerable.Range(0, days).Select(i => today.AddDays(i - days + 1)).ToList();
        var from = new DateTimeOffset(window[0].ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var parameters = new { From = DbValue.Time(from), Until = DbValue.Time(until), Limit = MaxRows };

        List<JobRow> jobs;
        List<ReportRow> reports;
        await using (DbConnection connection = await _database.OpenAsync(cancellationToken))
        await using (DbTransaction snapshot = await _database.Dialect.BeginReadAsync(connection, cancellationToken))
        {
            jobs = (await connection.QueryAsync<JobRow>(new CommandDefinition(SelectJobs, parameters, snapshot, cancellationToken: cancellationToken))).ToList();
            reports = (await connection.QueryAsync<ReportRow>(new CommandDefinition(SelectReports, parameters, snapshot, cancellationToken: cancellationToken))).ToList();
            await snapshot.CommitAsync(cancellationToken);
        }

        IReadOnlyList<ModulePollStatus> polls = await _pollStatus.ListAsync(cancellationToken);
        List<FinishedJob> finished = jobs.Select(j => j.ToJob()).ToList();
        List<SettledReport> settled = reports.Select(r => r.ToReport()).ToList();
        List<PollFailure> failing = polls
            .Where(p => p.ConsecutiveFailures > 0)
            .Select(p => new PollFailure(p.Module, p.ConsecutiveFailures, p.LastError, p.LastErrorAt))
            .ToList();

        return new CiHealth(
            from,
            until,
            window,
            Count(finished),
            Figure(window, finished, j => j.Day, PassRate),
            Figure(window, finished, j => j.Day, FlakyRate),
            Figure(window, finished, j => j.Day, InfrastructureErrorRate),
            Figure(window, finished.Where(j => j.QueueWait is not null).ToList(), j => j.Day, js => Percentile(js.Select(j => j.QueueWait!.Value), 0.50)),
            Figure(window, finished.Where(j => j.QueueWait is not null).ToList(), j => j.Day, js => Percentile(js.Select(j => j.QueueWait!.Value), 0.95)),
            Durations(window, finished),
            Tallies(window, settled),
            settled.Where(r => r.State is ReportState.Held or ReportState.Failed).Take(MaxProblems)
                .Select(r => new ReportProblem(r.RunId, r.Reporter, r.State, r.Reason, r.At)).ToList(),
            new HealthFigure(failing.Count, window.Select(d => new HealthPoint(d, d == today ? failing.Count : null)).ToList()) { Note = PollsNote },
            failing,
            jobs.Count == MaxRows || reports.Count == MaxRows);
    }

    /// <summary>The nearest-rank percentile (the smallest value with at least <paramref name="fraction"/> of the values at or below it); null for none.</summary>
    internal static double? Percentile(IEnumerable<double> values, double fraction)
    {
        double[] sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        int rank = (int)Math.Ceiling(fraction * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    private static double? PassRate(IReadOnlyCollection<FinishedJob> jobs) => ShareOfVerdicts(jobs, JobResult.Success);

    private static double? FlakyRate(IReadOnlyCollection<FinishedJob> jobs) => ShareOfVerdicts(jobs, JobResult.Flaky);

    private static double? ShareOfVerdicts(IReadOnlyCollection<FinishedJob> jobs, JobResult result)
    {
        int verdicts = jobs.Count(j => j.Result is JobResult.Success or JobResult.Flaky or JobResult.Failure or JobResult.Timeout);
        return verdicts == 0 ? null : (double)jobs.Count(j => j.Result == result) / verdicts;
    }

    private static double? InfrastructureErrorRate(IReadOnlyCollection<FinishedJob> jobs) =>
        jobs.Count == 0 ? null : (double)jobs.Count(j => j.Result == JobResult.Error) / jobs.Count;

    private static HealthJobCounts Count(IReadOnlyCollection<FinishedJob> jobs) => new(
        jobs.Count,
        jobs.Count(j => j.Result == JobResult.Success),
        jobs.Count(j => j.Result == JobResult.Failure),
        jobs.Count(j => j.Result == JobResult.Timeout),
        jobs.Count(j => j.Result == JobResult.Error));

    /// <summary><paramref name="compute"/> over all <paramref name="items"/>, and over each day's.</summary>
    private static HealthFigure Figure<T>(IReadOnlyList<DateOnly> window, IReadOnlyList<T> items, Func<T, DateOnly> dayOf, Func<IReadOnlyCollection<T>, double?> compute)
    {
        ILookup<DateOnly, T> byDay = items.ToLookup(dayOf);
        return new HealthFigure(compute(items), window.Select(d => new HealthPoint(d, compute(byDay[d].ToList()))).ToList());
    }

    private static List<ScenarioDurations> Durations(IReadOnlyList<DateOnly> window, List<FinishedJob> jobs) =>
        jobs.Where(j => j.Duration is not null)
            .GroupBy(j => j.Scenario, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                List<FinishedJob> ran = g.ToList();
                return new ScenarioDurations(
                    g.Key,
                    ran.Count,
                    Figure(window, ran, j => j.Day, js => Percentile(js.Select(j => j.Duration!.Value), 0.50)),
                    Figure(window, ran, j => j.Day, js => Percentile(js.Select(j => j.Duration!.Value), 0.95)));
            })
            .ToList();

    private static List<ReportTally> Tallies(IReadOnlyList<DateOnly> window, List<SettledReport> reports) =>
        reports.GroupBy(r => (r.Reporter, r.State))
            .OrderBy(g => g.Key.Reporter, StringComparer.Ordinal)
            .ThenBy(g => g.Key.State)
            .Select(g => new ReportTally(g.Key.Reporter, g.Key.State, Figure(window, g.ToList(), r => r.Day, rs => rs.Count)))
            .ToList();

    private sealed record FinishedJob(string Scenario, JobResult Result, DateOnly Day, double? QueueWait, double? Duration);

    private sealed record SettledReport(long RunId, string Reporter, ReportState State, string Reason, DateTimeOffset At)
    {
        public DateOnly Day => DateOnly.FromDateTime(At.UtcDateTime);
    }

    private sealed class JobRow
    {
        public string Scenario { get; set; } = "";

        public string Result { get; set; } = "";

        public string QueuedAt { get; set; } = "";

        public string? StartedAt { get; set; }

        public string FinishedAt { get; set; } = "";

        public long? DurationMs { get; set; }

        public FinishedJob ToJob()
        {
            DateTimeOffset queued = DbValue.ParseTime(QueuedAt);
            DateTimeOffset? started = DbValue.ParseOptionalTime(StartedAt);
            DateTimeOffset finished = DbValue.ParseTime(FinishedAt);
            return new FinishedJob(
                Scenario,
                DbValue.Parse<JobResult>(Result),
                DateOnly.FromDateTime(finished.UtcDateTime),
                started is { } s ? Math.Max(0, (s - queued).TotalSeconds) : null,
                DurationMs is { } ms ? ms / 1000.0 : null);
        }
    }

    private sealed class ReportRow
    {
        public long RunId { get; set; }

        public string Reporter { get; set; } = "";

        public string State { get; set; } = "";

        public string? Detail { get; set; }

        public string? LastError { get; set; }

        public string UpdatedAt { get; set; } = "";

        /// <summary>A held report says why in its detail; a failed one in its error (see <see cref="ReportStore.SettleAsync"/>).</summary>
        public SettledReport ToReport()
        {
            ReportState state = DbValue.Parse<ReportState>(State);
            string reason = (state == ReportState.Failed ? LastError ?? Detail : Detail ?? LastError) ?? "";
            return new SettledReport(RunId, Reporter, state, reason, DbValue.ParseTime(UpdatedAt));
        }
    }
}
