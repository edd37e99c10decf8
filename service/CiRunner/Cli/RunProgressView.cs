using System.Globalization;
using CiRunner.Execution;
using CiRunner.Results;
using Spectre.Console;

namespace CiRunner.Cli;

/// <summary>
/// What <c>cirunner run</c> shows while its jobs run: one line per event when the output is a file or a pipe (CI
/// logs keep every event), a live table on a terminal.
/// </summary>
internal abstract class RunProgressView : IAsyncDisposable
{
    /// <summary>A live table when <paramref name="output"/> is the process's own terminal, else plain lines.</summary>
    public static RunProgressView Create(TextWriter output, TextWriter consoleOut, TimeProvider time) =>
        ReferenceEquals(output, consoleOut) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
            ? new LiveRunProgressView(time)
            : new PlainRunProgressView(output);

    public abstract Task StartAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken);

    public abstract Task RunningAsync(JobRecord job);

    public abstract void StepStarted(long jobId, StepStart step);

    public abstract Task FinishedAsync(JobRecord job);

    /// <summary>A cell's next attempt was queued after a transient error of the previous one.</summary>
    public abstract Task RetriedAsync(JobRecord retry);

    /// <summary>A job queued after the start (a bisect's next step), shown as <paramref name="label"/>.</summary>
    public abstract Task AddedAsync(JobRecord job, string label);

    /// <summary>Ends the live part; the summary follows on the same output.</summary>
    public abstract Task CompleteAsync();

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return new ValueTask(CompleteAsync());
    }

    /// <summary>Forwards the executor's progress to the recorder and tells the view which step runs.</summary>
    public IJobProgress Observe(IJobProgress inner) => new Forwarder(inner, this);

    protected static string Finished(JobRecord job) =>
        ResultsText.Status(job) + (job.Duration is { } d ? " in " + ResultsText.Duration(d) : "")
        + (job.Result == JobResult.Success || job.Summary is null ? "" : ": " + job.Summary.ReplaceLineEndings(" "));

    private sealed class Forwarder(IJobProgress inner, RunProgressView view) : IJobProgress
    {
        public ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken) =>
            inner.ContainerStartedAsync(job, containerId, imageId, cancellationToken);

        public ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken)
        {
            view.StepStarted(job.JobId, start);
            return inner.StepStartedAsync(job, start, cancellationToken);
        }

        public ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken) =>
            inner.StepFinishedAsync(job, outcome, changes, cancellationToken);
    }
}

/// <summary>One line per job event: queued, running, and how it ended.</summary>
internal sealed class PlainRunProgressView(TextWriter output) : RunProgressView
{
    public override async Task StartAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        foreach (JobRecord job in jobs)
        {
            await LineAsync(job, "queued");
        }
    }

    public override Task RunningAsync(JobRecord job) => LineAsync(job, "running");

    public override void StepStarted(long jobId, StepStart step)
    {
    }

    public override Task FinishedAsync(JobRecord job) => LineAsync(job, Finished(job));

    public override Task RetriedAsync(JobRecord retry) => LineAsync(retry, $"queued ({ResultsText.AttemptOf(retry)})");

    public override Task AddedAsync(JobRecord job, string label) =>
        output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  job {job.Id}  {label}  queued").AsMemory(), CancellationToken.None);

    public override Task CompleteAsync() => Task.CompletedTask;

    private Task LineAsync(JobRecord job, string state) =>
        output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  job {job.Id}  {job.CellKey}  {state}").AsMemory(), CancellationToken.None);
}

/// <summary>A Spectre.Console live table redrawn a few times a second: cell, state, duration, and the phase/step running.</summary>
internal sealed class LiveRunProgressView(TimeProvider time) : RunProgressView
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly List<Row> _rows = [];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _display;

    public override Task StartAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _rows.AddRange(jobs.Select(job => new Row(job.Id, job.CellKey)));
        }

        _display = AnsiConsole.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async context =>
        {
            while (!_done.Task.IsCompleted)
            {
                context.UpdateTarget(Render());
                await Task.WhenAny(_done.Task, Task.Delay(Refresh, time, CancellationToken.None));
            }

            context.UpdateTarget(Render());
        });
        return Task.CompletedTask;
    }

    public override Task RunningAsync(JobRecord job)
    {
        Update(job.Id, row => row with { State = "running", StartedAt = time.GetTimestamp() });
        return Task.CompletedTask;
    }

    public override void StepStarted(long jobId, StepStart step) =>
        Update(jobId, row => row with { Now = $"{step.Phase}: {step.Name}" });

    public override Task FinishedAsync(JobRecord job)
    {
        string summary = job.Result == JobResult.Success || job.Summary is null ? "" : job.Summary.Split('\n')[0];
        Update(job.Id, row => row with { State = ResultsText.Status(job), Duration = job.Duration, Now = summary, Done = true });
        return Task.CompletedTask;
    }

    public override Task RetriedAsync(JobRecord retry)
    {
        lock (_gate)
        {
            _rows.Add(new Row(retry.Id, string.Create(CultureInfo.InvariantCulture, $"{retry.CellKey} (attempt {retry.Attempt})")));
        }

        return Task.CompletedTask;
    }

    public override Task AddedAsync(JobRecord job, string label)
    {
        lock (_gate)
        {
            _rows.Add(new Row(job.Id, label));
        }

        return Task.CompletedTask;
    }

    public override async Task CompleteAsync()
    {
        _done.TrySetResult();
        if (_display is not null)
        {
            await _display;
        }
    }

    private void Update(long jobId, Func<Row, Row> change)
    {
        lock (_gate)
        {
            int index = _rows.FindIndex(r => r.JobId == jobId);
            if (index >= 0)
            {
                _rows[index] = change(_rows[index]);
            }
        }
    }

    private Table Render()
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumns("JOB", "CELL", "STATE", "DURATION", "PHASE / STEP");
        lock (_gate)
        {
            foreach (Row row in _rows)
            {
                TimeSpan? duration = row.Done ? row.Duration : row.StartedAt is { } started ? time.GetElapsedTime(started) : null;
                table.AddRow(
                    new Text(row.JobId.ToString(CultureInfo.InvariantCulture)),
                    new Text(row.CellKey),
                    State(row.State),
                    new Text(duration is null ? "" : ResultsText.Duration(duration)),
                    new Text(row.Now));
            }
        }

        return table;
    }

    // A symbol and a word, as on the dashboard, so the state reads without colour too.
    internal static Markup State(string state) => state switch
    {
        "success" => new Markup("[green]✓ passed[/]"),
        "failure" => new Markup("[red]✗ failed[/]"),
        "error" => new Markup("[yellow]! error[/]"),
        "timeout" => new Markup("[fuchsia]◔ timeout[/]"),
        "cancelled" => new Markup("[grey]⊘ cancelled[/]"),
        "flaky" => new Markup("[olive]≈ flaky[/]"),
        "running" => new Markup("[blue]▶ running[/]"),
        "queued" => new Markup("[grey]… queued[/]"),
        _ => new Markup(Markup.Escape(state)),
    };

    private sealed record Row(long JobId, string CellKey)
    {
        public string State { get; init; } = "queued";

        public long? StartedAt { get; init; }

        public TimeSpan? Duration { get; init; }

        public string Now { get; init; } = "";

        public bool Done { get; init; }
    }
}
