using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CiRunner.Matrix;

namespace CiRunner.Results;

/// <summary>
/// Everything a job ran with, enough to run it again without today's configuration or scenarios directory: every
/// module's commit per phase, the image, the scenario's files as text, and each phase's steps as run.
/// </summary>
/// <param name="Scenario">The scenario's name.</param>
/// <param name="Modules">Every module each phase installed, at its exact commit.</param>
/// <param name="Image">The image reference the job asked for (a release image's tag); the engine's id of it is <see cref="ImageId"/>.</param>
/// <param name="ImageRelease">The release whose image that is, to name the command that builds it; null for other images.</param>
/// <param name="NetworkMode">The container's network (the scenario's <c>network</c>, else <c>Docker:NetworkMode</c>).</param>
/// <param name="Init">What ran as PID 1.</param>
/// <param name="PackageSnapshotRelease">The release whose package snapshot the job mounted; null for none.</param>
/// <param name="PackageSnapshotImage">The image reference that snapshot was frozen from; null for none.</param>
/// <param name="Phases">Each phase's name, manifest and steps, in order.</param>
/// <param name="Files">The scenario's files: its YAML, its manifest and the files it copies in, with their text.</param>
public sealed record JobLockfile(
    string Scenario,
    IReadOnlyList<JobModuleRecord> Modules,
    string Image,
    string? ImageRelease,
    string NetworkMode,
    InitSystem Init,
    string? PackageSnapshotRelease,
    string? PackageSnapshotImage,
    IReadOnlyList<LockfilePhase> Phases,
    IReadOnlyList<ScenarioText> Files)
{
    /// <summary>The image id the engine resolved <see cref="Image"/> to when the job ran; null until its container started.</summary>
    public string? ImageId { get; init; }

    /// <summary>The package snapshot the job's node moved onto, as the job recorded it; null when it used none.</summary>
    public JobPackageSnapshotRecord? PackageSnapshot { get; init; }

    /// <summary>How the phases are stored in <c>job_lockfiles.phases</c>: steps as the scenario spells them, enums by wire name.</summary>
    internal static readonly JsonSerializerOptions PhaseJson = new(JsonSerializerDefaults.Web) { Converters = { new WireEnumJsonConverter() } };

    /// <summary>The JSON stored in <c>job_lockfiles.phases</c>.</summary>
    public string PhasesJson() => JsonSerializer.Serialize(Phases, PhaseJson);

    /// <summary>The phases read back from <c>job_lockfiles.phases</c>.</summary>
    /// <exception cref="JsonException">The text is not what <see cref="PhasesJson"/> writes.</exception>
    public static IReadOnlyList<LockfilePhase> ParsePhases(string json) =>
        JsonSerializer.Deserialize<List<LockfilePhase>>(json, PhaseJson) ?? throw new JsonException("job_lockfiles.phases is null.");
}

/// <summary>One phase of a job as run.</summary>
/// <param name="Name"><c>deploy</c>, <c>upgrade</c> or <c>rollback</c>.</param>
/// <param name="Manifest">The manifest its apply steps ran, relative to <c>/cirunner/scenario</c>; null when none.</param>
/// <param name="Steps">Its steps in order, with their commands and timeouts as the job ran them.</param>
public sealed record LockfilePhase(string Name, string? Manifest, IReadOnlyList<StepDefinition> Steps);

/// <summary>What a scenario file was to its job.</summary>
public static class ScenarioTextRole
{
    /// <summary>The scenario's YAML; kept for the record, not copied into the container.</summary>
    public const string Scenario = "scenario";

    /// <summary>The manifest that apply steps run.</summary>
    public const string Manifest = "manifest";

    /// <summary>Another file the scenario copies in.</summary>
    public const string File = "file";
}

/// <summary>One scenario file of a job with its text, kept once per <see cref="Hash"/> however many jobs ran it.</summary>
/// <param name="Path">Where it was under <c>/cirunner/scenario</c> (the YAML: its file name).</param>
/// <param name="Role">A <see cref="ScenarioTextRole"/> value.</param>
/// <param name="Hash"><c>sha256:</c> and the hex of the text's UTF-8 bytes.</param>
/// <param name="Text">The text.</param>
public sealed record ScenarioText(string Path, string Role, string Hash, string Text)
{
    /// <summary>A file's entry, its hash computed from its text.</summary>
    public static ScenarioText Of(string path, string role, string text) => new(path, role, HashOf(text), text);

    /// <summary><c>sha256:</c> and the lower-case hex of the text's UTF-8 bytes.</summary>
    public static string HashOf(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
