using CiRunner.Configuration;

namespace CiRunner.Scheduling;

/// <summary>
/// Reloads the <see cref="ScenarioCatalog"/> when files in the scenarios directory change. Editors write a file in
/// several steps (truncate, write, rename), so events are gathered for a moment (<see cref="Debounce"/>) before one
/// reload. A lost event costs nothing: the run launcher re-checks the directory before every run it creates.
/// </summary>
public sealed partial class ScenarioWatcher : IHostedService, IDisposable
{
    /// <summary>How long the directory must be quiet before it is read again.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);

    private readonly ScenarioCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ScenarioWatcher> _logger;
    private FileSystemWatcher? _watcher;
    private ITimer? _timer;

    public ScenarioWatcher(ScenarioCatalog catalog, TimeProvider timeProvider, ILogger<ScenarioWatcher> logger)
    {
        _catalog = catalog;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _timeProvider.CreateTimer(_ => Reload(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        try
        {
            _watcher = new FileSystemWatcher(_catalog.Directory)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += (_, _) => Schedule();
            _watcher.Created += (_, _) => Schedule();
            _watcher.Deleted += (_, _) => Schedule();
            _watcher.Renamed += (_, _) => Schedule();
            _watcher.Error += (_, e) =>
            {
                LogWatchError(_catalog.Directory, e.GetException().Message);
                Schedule();
            };
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Without events (inotify watches exhausted, say), the re-check before each run still picks changes up.
            LogWatchError(_catalog.Directory, e.Message);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_watcher is not null)
        {
            _watcher.EnableRaisingEvents = false;
        }

        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _timer?.Dispose();
    }

    private void Schedule() => _timer?.Change(Debounce, Timeout.InfiniteTimeSpan);

    private void Reload()
    {
        try
        {
            _catalog.Refresh();
        }
        catch (Exception e)
        {
            // A timer callback's exception would end the process; the next change or run tries again.
            LogReloadFailed(e, _catalog.Directory);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching {Directory} for scenario changes failed ({Error}); changes are still picked up before each run")]
    private partial void LogWatchError(string directory, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading the scenarios in {Directory} failed")]
    private partial void LogReloadFailed(Exception exception, string directory);
}
