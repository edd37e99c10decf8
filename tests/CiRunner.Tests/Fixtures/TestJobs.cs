using CiRunner.Execution;
using CiRunner.Matrix;

namespace CiRunner.Tests.Fixtures;

/// <summary>Builds job specs, steps and Puppet modules for executor tests.</summary>
internal static class TestJobs
{
    private static long s_nextId = Environment.ProcessId * 1000L;

    /// <summary>Small limits: the test jobs are tiny, and small limits prove the limits are applied.</summary>
    public static readonly ContainerLimits Limits = new(MemoryBytes: 512L * 1024 * 1024, Cpus: 1.0, PidsLimit: 256, NetworkMode: "none");

    public static long NextId() => Interlocked.Increment(ref s_nextId);

    public static JobSpec Job(string instanceId, string image, TempDirectory folder, TimeSpan? jobTimeout = null, string? release = null, params JobPhase[] phases)
    {
        long runId = NextId();
        long jobId = NextId();
        return new JobSpec(runId, jobId, instanceId, image, release, phases, jobTimeout ?? TimeSpan.FromMinutes(2), folder.Combine("logs", $"{jobId}.log"), Limits);
    }

    public static JobPhase Phase(string name, string? manifest, IReadOnlyList<ModuleSource> modules, IReadOnlyList<ScenarioFile> files, params StepDefinition[] steps) =>
        new(name, modules, files, manifest, steps);

    public static StepDefinition Apply(string name = "apply") => new(StepKind.Apply, name, [], TimeSpan.FromMinutes(1));

    public static StepDefinition Idempotency(string name = "idempotency") => new(StepKind.Idempotency, name, [], TimeSpan.FromMinutes(1));

    public static StepDefinition Command(string name, TimeSpan timeout, params string[] command) => new(StepKind.Command, name, command, timeout);

    public static StepDefinition Command(string name, params string[] command) => Command(name, TimeSpan.FromMinutes(1), command);

    /// <summary>A complete <c>metadata.json</c>: Puppet needs every field to find a module's classes reliably.</summary>
    public static string Metadata(string name) =>
        $$"""{"name":"cirunner-{{name}}","version":"1.0.0","author":"cirunner","summary":"test module","license":"Apache-2.0","source":"https://example.invalid/{{name}}","dependencies":[]}""";

    /// <summary>Writes a module folder with <c>init.pp</c> = <paramref name="initPp"/>; returns its path.</summary>
    public static string WriteModule(TempDirectory folder, string name, string initPp, string? under = null)
    {
        string root = under is null ? name : Path.Combine(under, name);
        folder.Write(Path.Combine(root, "metadata.json"), Metadata(name));
        folder.Write(Path.Combine(root, "manifests", "init.pp"), initPp);
        return folder.Combine(root);
    }
}

/// <summary>Records the executor's progress calls; tests hook actions on a step's start.</summary>
internal sealed class RecordingProgress : IJobProgress
{
    private readonly object _gate = new();

    public List<string> Events { get; } = [];

    public List<StepOutcome> Finished { get; } = [];

    public List<IdempotencyChange> Changes { get; } = [];

    public string? ContainerId { get; private set; }

    public Action<StepStart>? OnStepStarted { get; init; }

    public ValueTask ContainerStartedAsync(JobSpec job, string containerId, string imageId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ContainerId = containerId;
            Events.Add($"container {imageId}");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask StepStartedAsync(JobSpec job, StepStart start, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Events.Add($"started {start.Phase}/{start.Name}");
        }

        OnStepStarted?.Invoke(start);
        return ValueTask.CompletedTask;
    }

    public ValueTask StepFinishedAsync(JobSpec job, StepOutcome outcome, IReadOnlyList<IdempotencyChange> changes, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Events.Add($"finished {outcome.Phase}/{outcome.Name} {outcome.Result}");
            Finished.Add(outcome);
            Changes.AddRange(changes);
        }

        return ValueTask.CompletedTask;
    }
}
