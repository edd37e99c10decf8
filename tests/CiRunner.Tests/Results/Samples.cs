using CiRunner.Results;

namespace CiRunner.Tests.Results;

/// <summary>Typical values for the store's inputs, so tests state only what they are about.</summary>
internal static class Samples
{
    public const string Sha = "0123456789abcdef0123456789abcdef01234567";

    public static NewRun Run(
        string module = "keystone",
        string branch = "stable/2024.1",
        RunCause cause = RunCause.Commit,
        string commitSha = Sha,
        string? changeRef = null,
        int? patchSet = null) =>
        new(cause, module, branch, commitSha, changeRef, patchSet, RequestedBy: cause == RunCause.Manual ? "alice" : null);

    public static NewJob Deploy(string release = "2024.1", string scenario = "scenario001", JobPriority priority = JobPriority.Nightly) =>
        new($"{release}/{scenario}", JobKind.Deploy, release, FromRelease: null, scenario, priority);

    public static NewJob Upgrade(string from = "2023.1", string to = "2024.1", string scenario = "scenario001") =>
        new($"{from}->{to}/{scenario}:upgrade", JobKind.Upgrade, to, from, scenario, Priority: JobPriority.Manual, Attempt: 2);

    public static NewStep Step(int ordinal, DateTimeOffset startedAt, StepKind kind = StepKind.Apply, int? exitCode = 2, JobResult result = JobResult.Success) =>
        new(ordinal, "deploy", $"{kind.ToString().ToUpperInvariant()} {ordinal}", kind, startedAt, startedAt.AddSeconds(42.5), exitCode, result);

    public static NewIdempotencyChange Change(string title = "DEFAULT/debug") =>
        new("Keystone_config", title, "value", "false", "true", "keystone", "/etc/puppet/modules/keystone/manifests/init.pp", 120);
}
