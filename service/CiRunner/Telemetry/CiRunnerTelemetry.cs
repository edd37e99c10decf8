using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;

namespace CiRunner.Telemetry;

/// <summary>
/// The one <see cref="Meter"/> (<c>CiRunner</c>) and <see cref="ActivitySource"/> of the service, with every
/// instrument the stages record into.
/// </summary>
/// <remarks>
/// The meter is static, like the activity source, and never disposed: OpenTelemetry finds meters by name
/// process-wide and merges same-named instruments, so a per-host meter that is disposed when one host stops would
/// end the metric streams of every other host in the process (the end-to-end tests run several).
/// </remarks>
public sealed class CiRunnerTelemetry
{
    public const string MeterName = "CiRunner";

    public const string ActivitySourceName = "CiRunner";

    /// <summary>Static like every ActivitySource: listeners subscribe by name, and there is no factory for sources.</summary>
    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly Counter<long> _jobsFinished;
    private readonly Histogram<double> _jobDuration;
    private readonly Histogram<double> _stepDuration;
    private readonly UpDownCounter<long> _jobsQueued;
    private readonly UpDownCounter<long> _jobsRunning;
    private readonly Counter<long> _polls;
    private readonly Counter<long> _pollErrors;
    private readonly Histogram<double> _pollDuration;
    private readonly Counter<long> _commitsDetected;
    private readonly Counter<long> _runsCreated;
    private readonly Counter<long> _reports;

    private static readonly Meter SharedMeter = new(MeterName);

    public CiRunnerTelemetry()
        : this(SharedMeter)
    {
    }

    /// <summary>On a meter of the caller's: unit tests read their own instruments without the other tests' measurements.</summary>
    internal CiRunnerTelemetry(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        Meter = meter;
        _jobsFinished = Meter.CreateCounter<long>("cirunner.jobs.finished", "{job}", "Jobs that ended, by cell and result.");
        _jobDuration = Meter.CreateHistogram<double>("cirunner.job.duration", "s", "Time from a job's start to its end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LongBuckets });
        _stepDuration = Meter.CreateHistogram<double>("cirunner.step.duration", "s", "Time one step of a job ran.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LongBuckets });
        _jobsQueued = Meter.CreateUpDownCounter<long>("cirunner.jobs.queued", "{job}", "Jobs waiting for an executor slot in this process.");
        _jobsRunning = Meter.CreateUpDownCounter<long>("cirunner.jobs.running", "{job}", "Jobs running now.");
        _polls = Meter.CreateCounter<long>("cirunner.polls", "{poll}", "Polls of a module's remote.");
        _pollErrors = Meter.CreateCounter<long>("cirunner.poll.errors", "{poll}", "Polls that failed.");
        _pollDuration = Meter.CreateHistogram<double>("cirunner.poll.duration", "s", "Time one poll of a module took.");
        _commitsDetected = Meter.CreateCounter<long>("cirunner.commits.detected", "{commit}", "New branch heads and patch sets a poll found.");
        _runsCreated = Meter.CreateCounter<long>("cirunner.runs.created", "{run}", "Runs created, by module and cause.");
        _reports = Meter.CreateCounter<long>("cirunner.reports", "{report}", "Run reports settled, by reporter and state (sent, held, failed).");
    }

    /// <summary>Jobs run from seconds (a broken Puppetfile) to hours (an upgrade cell), so the default millisecond-sized buckets would not do.</summary>
    private static IReadOnlyList<double> LongBuckets { get; } = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800];

    public Meter Meter { get; }

    /// <summary>
    /// The engine's gauges, labelled with its endpoint and read when metrics are collected: its capacity, the jobs
    /// running on it, whether it answers, and its errors (outages begun, jobs that lost it). Called once per engine.
    /// </summary>
    /// <summary>Per-engine gauges of the pool, read from <paramref name="engines"/> at each collection; labels <c>engine</c> (its name) and <c>endpoint</c>.</summary>
    public void ObserveEngines(Func<IReadOnlyList<Results.InstanceEngine>> engines)
    {
        ArgumentNullException.ThrowIfNull(engines);
        Meter.CreateObservableGauge("cirunner.engine.capacity", () => Measure(engines(), e => e.Capacity), "{job}", "Jobs the engine runs at once (Docker:Engines[].Capacity, or Docker:ParallelJobs).");
        Meter.CreateObservableGauge("cirunner.engine.running", () => Measure(engines(), e => e.Running), "{job}", "Jobs running on the engine now.");
        Meter.CreateObservableGauge("cirunner.engine.up", () => Measure(engines(), e => e.Up ? 1 : 0), "1", "1 while the engine answers, 0 during an outage.");
        Meter.CreateObservableCounter("cirunner.engine.errors", () => Measure(engines(), e => e.Errors), "{error}", "Outages of the engine begun and jobs that lost it.");
    }

    private static IEnumerable<Measurement<long>> Measure(IReadOnlyList<Results.InstanceEngine> engines, Func<Results.InstanceEngine, long> value) =>
        engines.Select(e => new Measurement<long>(value(e), new KeyValuePair<string, object?>("engine", e.Name), new KeyValuePair<string, object?>("endpoint", e.Endpoint)));

    public void JobQueued(int count = 1) => _jobsQueued.Add(count);

    public void JobDequeued(int count = 1) => _jobsQueued.Add(-count);

    public void JobStarted() => _jobsRunning.Add(1);

    public void JobEnded() => _jobsRunning.Add(-1);

    public void JobFinished(JobLabels labels, JobResult result, TimeSpan? duration)
    {
        ArgumentNullException.ThrowIfNull(labels);
        TagList tags = labels.ToTags();
        tags.Add("result", result.ToWire());
        _jobsFinished.Add(1, tags);
        if (duration is { } d)
        {
            _jobDuration.Record(d.TotalSeconds, tags);
        }
    }

    public void StepFinished(JobLabels labels, string phase, string step, JobResult result, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(labels);
        TagList tags = labels.ToTags();
        tags.Add("phase", phase);
        tags.Add("step", step);
        tags.Add("result", result.ToWire());
        _stepDuration.Record(duration.TotalSeconds, tags);
    }

    public void PollFinished(string module, TimeSpan duration, bool succeeded, int commitsDetected)
    {
        var tags = new TagList { { "module", module } };
        _polls.Add(1, tags);
        _pollDuration.Record(duration.TotalSeconds, tags);
        if (!succeeded)
        {
            _pollErrors.Add(1, tags);
        }

        if (commitsDetected > 0)
        {
            _commitsDetected.Add(commitsDetected, tags);
        }
    }

    public void RunCreated(string module, RunCause cause) =>
        _runsCreated.Add(1, new TagList { { "module", module }, { "cause", cause.ToWire() } });

    /// <summary>
    /// A run's report to <paramref name="reporter"/> settled as <paramref name="state"/>: counted once, when it is
    /// settled, so the attempts before a sent report are not counted. Pending and skipped reports are not counted.
    /// </summary>
    public void ReportSettled(string reporter, ReportState state)
    {
        if (state is ReportState.Sent or ReportState.Held or ReportState.Failed)
        {
            _reports.Add(1, new TagList { { "reporter", reporter }, { "state", state.ToWire() } });
        }
    }

    /// <summary>
    /// Starts the root span of a new run: a trace of its own, not a child of the poll or request that caused it (that
    /// one is linked). It ends once the run is stored; the run keeps its <see cref="Activity.Id"/> (the W3C
    /// traceparent) and its jobs, started later and perhaps by another process, become its children through it.
    /// </summary>
    public static Activity? StartRun(string instanceId, string module, string branch, RunCause cause)
    {
        Activity? causedBy = Activity.Current;
        Activity.Current = null;
        Activity? root = ActivitySource.StartActivity(
            "run", ActivityKind.Internal, default(ActivityContext), links: causedBy is null ? null : [new ActivityLink(causedBy.Context)]);
        if (root is null)
        {
            Activity.Current = causedBy;
            return null;
        }

        // Run ids restart at 1 per database: the instance tells runs of different services apart in one trace store.
        root.SetTag("cirunner.instance", instanceId);
        root.SetTag("cirunner.module", module);
        root.SetTag("cirunner.branch", branch);
        root.SetTag("cirunner.cause", cause.ToWire());
        return root;
    }

    /// <summary>The parent of a run's job spans: the run's root span, or for a run without one the derived context below.</summary>
    public static ActivityContext RunContext(Results.RunRecord run, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(run);
        return run.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out ActivityContext root)
            ? root
            : RunContext(instanceId, run.Id);
    }

    /// <summary>
    /// The trace of a run without a root span (created by <c>cirunner run</c>, or before traces were stored): every job of the run is a child of this context, so a run's jobs share one trace even
    /// though they start minutes apart in other activities. Derived from the instance id and the run id (run ids
    /// restart at 1 in every database), so there is nothing to store.
    /// </summary>
    public static ActivityContext RunContext(string instanceId, long runId)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(FormattableString.Invariant($"cirunner-run:{instanceId}:{runId}")), hash);
        return new ActivityContext(ActivityTraceId.CreateFromBytes(hash[..16]), ActivitySpanId.CreateFromBytes(hash[16..24]), ActivityTraceFlags.Recorded);
    }
}

/// <summary>The labels every job metric carries: which cell of which module branch.</summary>
public sealed record JobLabels(string Module, string Branch, string Release, string Scenario, JobKind Kind)
{
    public TagList ToTags() => new()
    {
        { "module", Module },
        { "branch", Branch },
        { "release", Release },
        { "scenario", Scenario },
        { "kind", Kind.ToWire() },
    };
}
