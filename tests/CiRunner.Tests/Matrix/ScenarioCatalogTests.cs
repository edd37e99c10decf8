using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Matrix;

/// <summary>
/// Scenario files changed while the service runs, read through <see cref="ScenarioCatalog.Refresh"/> (which the file
/// watcher and the run launcher call): the configuration folder's <c>basic</c> (keystone, openstacklib, stdlib; every
/// release; apply and idempotency) and <c>lib-only</c> scenarios.
/// </summary>
public sealed class ScenarioCatalogTests : IDisposable
{
    private readonly ConfigFolder _folder = new();
    private readonly ITestOutputHelper _output;
    private readonly CiRunnerSettings _settings;
    private readonly ScenarioCatalog _catalog;

    public ScenarioCatalogTests(ITestOutputHelper output)
    {
        _output = output;
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        _settings = loaded.Settings;
        _catalog = new ScenarioCatalog(_settings, new FakeTimeProvider(TempDatabase.Start), new TestOutputLogger<ScenarioCatalog>(output));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public void Refresh_NothingChanged_KeepsTheLoadedState()
    {
        ScenarioCatalogState before = _catalog.Current;

        ScenarioCatalogState after = _catalog.Refresh();

        Assert.Same(before, after);
        Assert.Equal(["basic", "lib-only"], after.Scenarios.Select(s => s.Name));
    }

    [Fact]
    public void Refresh_BrokenFile_RejectedWithFileLineAndExpectation_PreviousDefinitionStaysInUse()
    {
        _folder.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - apply\n  - type: reboot\n");

        ScenarioCatalogState state = _catalog.Refresh();

        ConfigurationError error = Assert.Single(state.Errors);
        Assert.Equal(Path.Combine(_folder.Root, "scenarios", "basic.yaml"), error.File);
        Assert.Equal("line 7, steps[1].type", error.Location);
        Assert.Equal("reboot", error.Value);
        Assert.Equal(["basic"], state.KeptScenarios);
        Scenario basic = Assert.Single(state.Scenarios, s => s.Name == "basic");
        Assert.Equal(["apply", "idempotency"], basic.Steps.Select(s => s.Name));
        Assert.Same(basic, _catalog.Find("basic"));
    }

    [Fact]
    public void Refresh_FileFixedAfterBreaking_NewDefinitionUsedAndErrorsCleared()
    {
        _folder.Write("scenarios/basic.yaml", "name: basic\nmanifest: [not, a, path]\n");
        Assert.NotEmpty(_catalog.Refresh().Errors);
        _folder.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - type: command\n    name: check\n    command: [true]\n");

        ScenarioCatalogState state = _catalog.Refresh();

        Assert.Empty(state.Errors);
        Assert.Empty(state.KeptScenarios);
        Assert.Equal(["check"], _catalog.Find("basic")!.Steps.Select(s => s.Name));
    }

    [Fact]
    public void Refresh_NewFileAndDeletedFile_ScenarioAddedAndRemoved()
    {
        _folder.Write("scenarios/extra.yaml", "name: extra\nmanifest: basic.pp\nmodules: [keystone]\n");
        File.Delete(Path.Combine(_folder.Root, "scenarios", "lib-only.yaml"));

        ScenarioCatalogState state = _catalog.Refresh();

        Assert.Empty(state.Errors);
        Assert.Equal(["basic", "extra"], state.Scenarios.Select(s => s.Name));
        Assert.Null(_catalog.Find("lib-only"));
    }

    [Fact]
    public void Refresh_NewFileThatIsBroken_RejectedAndNothingOfItUsed()
    {
        _folder.Write("scenarios/extra.yaml", "name: extra\nmanifest: basic.pp\nmodules: [keystone]\nreleases: [2099.1]\n");

        ScenarioCatalogState state = _catalog.Refresh();

        ConfigurationError error = Assert.Single(state.Errors);
        Assert.Equal("2099.1", error.Value);
        Assert.Contains("a configured release: zed, 2023.1, 2024.1, 2024.2", error.Expected, StringComparison.Ordinal);
        Assert.Empty(state.KeptScenarios);
        Assert.Equal(["basic", "lib-only"], state.Scenarios.Select(s => s.Name));
    }

    [Fact]
    public void Refresh_BrokenFileThenDeleted_ItsScenarioIsGone()
    {
        _folder.Write("scenarios/lib-only.yaml", "name: lib-only\n  bad: indentation\n");
        Assert.Equal(["lib-only"], _catalog.Refresh().KeptScenarios);
        File.Delete(Path.Combine(_folder.Root, "scenarios", "lib-only.yaml"));

        ScenarioCatalogState state = _catalog.Refresh();

        Assert.Empty(state.Errors);
        Assert.Equal(["basic"], state.Scenarios.Select(s => s.Name));
    }

    [Fact]
    public async Task RunLauncher_FileChangedWithoutAnyWatcher_NextRunUsesTheNewScenarios()
    {
        using var queue = new JobQueue(TestTelemetry.Private());
        ResultsStore store = ResultsStore.Open(_settings.DataPaths.DatabaseFile);
        var launcher = new RunLauncher(_settings, store.Runs, store.Jobs, queue, new TestOutputLogger<RunLauncher>(_output), TestTelemetry.Private(), _catalog);
        _folder.Write("scenarios/extra.yaml", "name: extra\nmanifest: basic.pp\nmodules: [keystone]\nreleases: [2024.2]\n");

        RunDetail run = await launcher.StartAsync(new RunTrigger(RunCause.Manual, "keystone", "master", new string('a', 40)), CancellationToken.None);

        Assert.Equal(["2024.1->2024.2/basic:upgrade", "2024.2/basic", "2024.2/extra"], run.Jobs.Select(j => j.CellKey).Order(StringComparer.Ordinal));
    }
}
