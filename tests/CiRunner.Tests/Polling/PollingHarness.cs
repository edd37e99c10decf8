using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Polling;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Telemetry;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Polling;

/// <summary>
/// The polling path without the host: a configuration whose keystone module lives in a <see cref="GitRemote"/>,
/// a results database, and the poller, launcher and queue on top. <see cref="Restart"/> builds new instances on the
/// same files, as a new service process would.
/// </summary>
internal sealed class PollingHarness : IDisposable
{
    /// <summary>An image no engine has, so jobs a dispatcher might pick up end as errors at once.</summary>
    public const string AbsentImage = "cirunner-tests/absent:none";

    private readonly ITestOutputHelper _output;

    public PollingHarness(ITestOutputHelper output, Action<ConfigFolder>? configure = null)
    {
        _output = output;
        Folder.Set("Modules:0:Url", Remote.Path);
        for (int i = 0; i < 4; i++)
        {
            Folder.Set($"Releases:{i}:Image", AbsentImage);
        }

        configure?.Invoke(Folder);
        ConfigurationLoadResult loaded = Folder.Load();
        Assert.True(loaded.Succeeded, string.Join("\n", loaded.Errors));
        Settings = loaded.Settings;
        Restart();
    }

    public GitRemote Remote { get; } = new();

    public ConfigFolder Folder { get; } = new();

    public CiRunnerSettings Settings { get; }

    public ResultsStore Store { get; private set; } = null!;

    public JobQueue Queue { get; private set; } = null!;

    public ModuleMirrors Mirrors { get; private set; } = null!;

    public RunLauncher Launcher { get; private set; } = null!;

    public ModulePoller Poller { get; private set; } = null!;

    public CiRunner.Matrix.TrackedModule Keystone => Settings.FindModule("keystone")!;

    public void Restart()
    {
        Queue?.Dispose();
        Mirrors?.Dispose();
        Store = ResultsStore.Open(Settings.DataPaths.DatabaseFile);
        CiRunnerTelemetry telemetry = TestTelemetry.Private();
        Queue = new JobQueue(telemetry);
        Mirrors = new ModuleMirrors(Settings.DataPaths);
        var scenarios = new ScenarioCatalog(Settings, TimeProvider.System, new TestOutputLogger<ScenarioCatalog>(_output));
        Launcher = new RunLauncher(Settings, Store.Runs, Store.Jobs, Queue, new TestOutputLogger<RunLauncher>(_output), telemetry, scenarios);
        Poller = new ModulePoller(Mirrors, Store.PollState, Store.PollStatus, Launcher, TimeProvider.System, new TestOutputLogger<ModulePoller>(_output), telemetry, patchSets: []);
    }

    public Task<ModulePollOutcome> PollAsync() => Poller.PollAsync(Keystone, CancellationToken.None);

    public async Task<IReadOnlyList<RunRecord>> RunsAsync() =>
        (await Store.Runs.ListRecentAsync(null, null, 100, CancellationToken.None)).Select(r => r.Run).OrderBy(r => r.Id).ToList();

    public void Dispose()
    {
        Queue.Dispose();
        Mirrors.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Folder.Dispose();
        Remote.Dispose();
    }
}
