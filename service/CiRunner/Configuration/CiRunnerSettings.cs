using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>
/// Everything the configuration, the release Puppetfiles and the scenario files say, validated, with absolute
/// paths. Built only by <see cref="ConfigurationLoader"/>; every stage reads its settings from here (or from the
/// <c>IOptions&lt;T&gt;</c> registered by <see cref="CiRunnerSettingsServiceCollectionExtensions.AddCiRunnerSettings"/>),
/// never from raw configuration.
/// </summary>
public sealed record CiRunnerSettings
{
    /// <summary>The configuration file, absolute.</summary>
    public required string ConfigFile { get; init; }

    /// <summary>The <c>Service</c> section, with <see cref="ServiceOptions.DataDirectory"/> and <see cref="ServiceOptions.ScenariosDirectory"/> made absolute.</summary>
    public required ServiceOptions Service { get; init; }

    /// <summary>The data directory layout (database, mirrors, logs).</summary>
    public required DataPaths DataPaths { get; init; }

    public required DockerOptions Docker { get; init; }

    public required ScheduleOptions Schedule { get; init; }

    public required HttpOptions Http { get; init; }

    /// <summary>The <c>Store</c> section: SQLite (the default) or PostgreSQL.</summary>
    public StoreOptions Store { get; init; } = new();

    public required RetentionOptions Retention { get; init; }

    /// <summary>The <c>Reporting</c> section (JUnit, webhooks, retries); defaults when not configured.</summary>
    public ReportingOptions Reporting { get; init; } = new();

    /// <summary>Phase snapshots (<c>Snapshots</c>).</summary>
    public SnapshotOptions Snapshots { get; init; } = new();

    /// <summary>Automatic bisects of cells that turned red (<c>Bisect</c>).</summary>
    public BisectOptions Bisect { get; init; } = new();

    /// <summary>Flake re-runs, the flake ledger and the vote (<c>Flakes</c>).</summary>
    public FlakeOptions Flakes { get; init; } = new();

    /// <summary>The <c>Gerrit</c> section, or null when CiRunner reports to no Gerrit.</summary>
    public GerritOptions? Gerrit { get; init; }

    /// <summary>Tracked modules in configured order.</summary>
    public required IReadOnlyList<TrackedModule> Modules { get; init; }

    /// <summary>Releases in upgrade order, oldest first; <see cref="Release.Order"/> is the index.</summary>
    public required IReadOnlyList<Release> Releases { get; init; }

    /// <summary>Scenarios in file-name order.</summary>
    public required IReadOnlyList<Scenario> Scenarios { get; init; }

    /// <summary>The <c>Matrix</c> section: include/exclude rules, compatibility cells, rollback; empty when not configured.</summary>
    public MatrixRules Matrix { get; init; } = MatrixRules.Empty;

    public TrackedModule? FindModule(string name) => Modules.FirstOrDefault(m => m.Name == name);

    public Release? FindRelease(string name) => Releases.FirstOrDefault(r => r.Name == name);

    public Scenario? FindScenario(string name) => Scenarios.FirstOrDefault(s => s.Name == name);
}

/// <summary>The outcome of <see cref="ConfigurationLoader.Load(string)"/>: settings, or every error (never both).</summary>
public sealed record ConfigurationLoadResult(CiRunnerSettings? Settings, IReadOnlyList<ConfigurationError> Errors, string ConfigFile)
{
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Settings))]
    public bool Succeeded => Settings is not null;

    /// <summary>The folder errors are shown relative to: the configuration file's.</summary>
    public string BaseDirectory => Path.GetDirectoryName(ConfigFile)!;
}
