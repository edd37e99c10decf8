using System.Globalization;
using System.Text;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>What the service runs now, read from the scenarios directory.</summary>
/// <param name="Scenarios">The scenarios runs use, in file-name order.</param>
/// <param name="Errors">What is wrong with the files now (file, line, value, what is expected); empty when they are all valid.</param>
/// <param name="KeptScenarios">Scenarios whose file is broken now and whose last good definition is still used, by name.</param>
/// <param name="CheckedAt">When the directory was last read.</param>
public sealed record ScenarioCatalogState(
    IReadOnlyList<Scenario> Scenarios,
    IReadOnlyList<ConfigurationError> Errors,
    IReadOnlyList<string> KeptScenarios,
    DateTimeOffset CheckedAt);

/// <summary>
/// The service's scenarios, reloaded while it runs. The start-up load is validated with the rest of the configuration
/// (a broken file stops the start); after that, a changed directory is read again with <see cref="ScenarioLoader"/>
/// against the configured releases: a new valid file adds its scenario, a deleted file removes its scenario, and a
/// broken file is rejected with its errors while the previous good definition of its scenario stays in use, until the
/// file is fixed. The one-shot command-line verbs read <see cref="CiRunnerSettings.Scenarios"/> instead.
/// </summary>
public sealed partial class ScenarioCatalog
{
    private readonly string _directory;
    private readonly IReadOnlyList<Release> _releases;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ScenarioCatalog> _logger;
    private readonly Lock _reload = new();
    private ScenarioCatalogState _state;
    private string _fingerprint;

    public ScenarioCatalog(CiRunnerSettings settings, TimeProvider timeProvider, ILogger<ScenarioCatalog> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _directory = settings.Service.ScenariosDirectory;
        _releases = settings.Releases;
        _timeProvider = timeProvider;
        _logger = logger;
        _fingerprint = Fingerprint(_directory);
        _state = new ScenarioCatalogState(settings.Scenarios, [], [], timeProvider.GetUtcNow());
    }

    /// <summary>The directory the scenarios come from.</summary>
    public string Directory => _directory;

    public ScenarioCatalogState Current => Volatile.Read(ref _state);

    public IReadOnlyList<Scenario> Scenarios => Current.Scenarios;

    public Scenario? Find(string name) => Current.Scenarios.FirstOrDefault(s => s.Name == name);

    /// <summary>
    /// Reads the directory again when a file in it changed since the last read (names, sizes and times are compared,
    /// so an unchanged directory costs one listing), and returns the state runs use from now on.
    /// </summary>
    public ScenarioCatalogState Refresh()
    {
        lock (_reload)
        {
            string fingerprint = Fingerprint(_directory);
            if (fingerprint == _fingerprint)
            {
                return _state;
            }

            _fingerprint = fingerprint;
            ScenarioCatalogState previous = _state;
            ScenarioLoadResult loaded = ScenarioLoader.Load(_directory, _releases);
            ScenarioCatalogState next = Merge(previous, loaded, _timeProvider.GetUtcNow());
            Volatile.Write(ref _state, next);
            Report(previous, next);
            return next;
        }
    }

    /// <summary>
    /// The new state: every scenario that loaded, plus, for each broken file that still exists, the scenario it defined
    /// before (unless a valid file now defines that name).
    /// </summary>
    internal static ScenarioCatalogState Merge(ScenarioCatalogState previous, ScenarioLoadResult loaded, DateTimeOffset now)
    {
        var brokenFiles = new HashSet<string>(loaded.Errors.Select(e => Path.GetFullPath(e.File)), StringComparer.Ordinal);
        var names = new HashSet<string>(loaded.Scenarios.Select(s => s.Name), StringComparer.Ordinal);
        List<Scenario> kept = previous.Scenarios
            .Where(s => brokenFiles.Contains(s.SourcePath) && File.Exists(s.SourcePath) && !names.Contains(s.Name))
            .ToList();
        List<Scenario> scenarios = loaded.Scenarios.Concat(kept).OrderBy(s => s.SourcePath, StringComparer.Ordinal).ToList();
        return new ScenarioCatalogState(scenarios, loaded.Errors, kept.Select(s => s.Name).ToList(), now);
    }

    private void Report(ScenarioCatalogState previous, ScenarioCatalogState next)
    {
        var before = previous.Scenarios.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var after = next.Scenarios.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        string added = string.Join(", ", after.Except(before));
        string removed = string.Join(", ", before.Except(after));
        LogReloaded(_directory, next.Scenarios.Count, added, removed);
        foreach (ConfigurationError error in next.Errors)
        {
            Scenario? keptFromFile = next.Scenarios.FirstOrDefault(s => s.SourcePath == Path.GetFullPath(error.File) && next.KeptScenarios.Contains(s.Name));
            LogRejected(
                error.Format(Path.GetDirectoryName(_directory)),
                keptFromFile is null ? "nothing from this file is used" : $"the previous definition of scenario '{keptFromFile.Name}' stays in use");
        }

        if (next.Errors.Count == 0 && previous.Errors.Count > 0)
        {
            LogValidAgain(_directory);
        }
    }

    /// <summary>Names, sizes and modification times of the files directly in the directory: what a change to a scenario file or a manifest beside it alters.</summary>
    private static string Fingerprint(string directory)
    {
        var text = new StringBuilder();
        try
        {
            foreach (FileInfo file in new DirectoryInfo(directory).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                text.Append(file.Name).Append('\0')
                    .Append(file.Length.ToString(CultureInfo.InvariantCulture)).Append('\0')
                    .Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A directory that is gone or unreadable is a change too; the loader says what is wrong.
            text.Append("unreadable: ").Append(e.Message);
        }

        return text.ToString();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scenarios reloaded from {Directory}: {Count} in use; added: [{Added}], removed: [{Removed}]")]
    private partial void LogReloaded(string directory, int count, string added, string removed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scenario file rejected: {Error}; {Consequence}")]
    private partial void LogRejected(string error, string consequence);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scenario files in {Directory} are all valid again")]
    private partial void LogValidAgain(string directory);
}
