using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Results;

/// <summary>
/// The results store in one object: the database and a store per concern. The service gets it (and each part)
/// from DI through <see cref="ResultsServiceCollectionExtensions.AddResultsStore(IServiceCollection, Configuration.CiRunnerSettings)"/>;
/// command-line verbs build it with <see cref="Open(StoreDialect, TimeProvider?, ILoggerFactory?)"/>.
/// </summary>
public sealed class ResultsStore
{
    public ResultsStore(ResultsDatabase database, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        loggerFactory ??= NullLoggerFactory.Instance;
        Database = database;
        Runs = new RunStore(database, timeProvider);
        Jobs = new JobStore(database, timeProvider, loggerFactory.CreateLogger<JobStore>());
        JobProgress = new JobProgressStore(database);
        PollState = new PollStateStore(database, timeProvider);
        PollStatus = new PollStatusStore(database, timeProvider);
        Cells = new CellResultStore(database);
        Retention = new RetentionStore(database, timeProvider);
        Reports = new ReportStore(database, timeProvider);
        Rechecks = new RecheckStateStore(database, timeProvider);
        Instances = new InstanceStore(database, timeProvider);
        Bisects = new BisectStore(database, timeProvider);
        Health = new CiHealthStore(database, timeProvider, PollStatus);
        Flakes = new FlakeStore(database);
        CellHistory = new CellHistoryStore(database);
        Schedule = new StoredScheduleReader(database);
    }

    public ResultsDatabase Database { get; }

    public RunStore Runs { get; }

    /// <summary>Bisects: their requests, histories, steps and verdicts.</summary>
    public BisectStore Bisects { get; }

    public JobStore Jobs { get; }

    /// <summary>What running jobs record as they go: lockfiles, steps, idempotency changes, Tempest tests.</summary>
    public JobProgressStore JobProgress { get; }

    public PollStateStore PollState { get; }

    public PollStatusStore PollStatus { get; }

    public CellResultStore Cells { get; }

    /// <summary>Each cell's last results, failure signatures and idempotency drift; the matrix grid's strips.</summary>
    public CellHistoryStore CellHistory { get; }

    public RetentionStore Retention { get; }

    /// <summary>The reporters' outbox: what each finished run still has to report, and how each report went.</summary>
    public ReportStore Reports { get; }

    /// <summary>What the Gerrit recheck poller has read.</summary>
    public RecheckStateStore Rechecks { get; }

    /// <summary>The serving instances' check-ins.</summary>
    public InstanceStore Instances { get; }

    /// <summary>The flake ledger: flakes and failures per cell and failure signature.</summary>
    public FlakeStore Flakes { get; }

    /// <summary>The CI health figures: rates, percentiles and reports over a window of days.</summary>
    public CiHealthStore Health { get; }

    /// <summary>What Quartz's persistent store holds, read without Quartz: when its first trigger is due.</summary>
    public StoredScheduleReader Schedule { get; }

    /// <summary>A store on a SQLite file, for code that runs without the service's container (CLI verbs, tests).</summary>
    public static ResultsStore Open(string databaseFile, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null) =>
        Open(new SqliteDialect(databaseFile), timeProvider, loggerFactory);

    /// <summary>A store on any database, for code that runs without the service's container (CLI verbs, tests).</summary>
    public static ResultsStore Open(StoreDialect dialect, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        timeProvider ??= TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        var database = new ResultsDatabase(dialect, timeProvider, loggerFactory.CreateLogger<ResultsDatabase>());
        return new ResultsStore(database, timeProvider, loggerFactory);
    }
}
