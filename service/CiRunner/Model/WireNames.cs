using System.Collections.Frozen;

namespace CiRunner.Model;

/// <summary>
/// The one spelling of every enum value that leaves the process: the JSON API, webhooks, the database, CLI output,
/// metric and trace labels and the pages all write <c>result.ToWire()</c>, and read back with
/// <see cref="TryParseWire{TEnum}(string?, out TEnum)"/>. The names are lower case, multi-word values joined without a
/// separator (<c>patchset</c>, <c>branchcommit</c>): what the database has always stored, so no row needs rewriting.
/// The table of names and where each is used is <c>docs/wire-names.md</c>.
/// </summary>
public static class WireNames
{
    private static readonly WireTable<JobResult> JobResults = new(
        (JobResult.Success, "success"),
        (JobResult.Failure, "failure"),
        (JobResult.Error, "error"),
        (JobResult.Timeout, "timeout"),
        (JobResult.Cancelled, "cancelled"),
        (JobResult.Skipped, "skipped"),
        (JobResult.Interrupted, "interrupted"),
        (JobResult.Superseded, "superseded"),
        (JobResult.Flaky, "flaky"));

    private static readonly WireTable<JobState> JobStates = new(
        (JobState.Queued, "queued"),
        (JobState.Running, "running"),
        (JobState.Finished, "finished"));

    private static readonly WireTable<RunCause> RunCauses = new(
        (RunCause.Commit, "commit"),
        (RunCause.PatchSet, "patchset"),
        (RunCause.Nightly, "nightly"),
        (RunCause.Manual, "manual"),
        (RunCause.Recheck, "recheck"),
        (RunCause.Replay, "replay"),
        (RunCause.Bisect, "bisect"));

    private static readonly WireTable<JobKind> JobKinds = new(
        (JobKind.Deploy, "deploy"),
        (JobKind.Upgrade, "upgrade"),
        (JobKind.Rollback, "rollback"));

    private static readonly WireTable<StepKind> StepKinds = new(
        (StepKind.Apply, "apply"),
        (StepKind.Idempotency, "idempotency"),
        (StepKind.Command, "command"),
        (StepKind.Tempest, "tempest"));

    private static readonly WireTable<JobPriority> JobPriorities = new(
        (JobPriority.Bisect, "bisect"),
        (JobPriority.Nightly, "nightly"),
        (JobPriority.BranchCommit, "branchcommit"),
        (JobPriority.PatchSet, "patchset"),
        (JobPriority.Manual, "manual"));

    private static readonly WireTable<TempestTestStatus> TempestTestStatuses = new(
        (TempestTestStatus.Passed, "passed"),
        (TempestTestStatus.Failed, "failed"),
        (TempestTestStatus.Skipped, "skipped"));

    private static readonly WireTable<ReportState> ReportStates = new(
        (ReportState.Pending, "pending"),
        (ReportState.Sent, "sent"),
        (ReportState.Held, "held"),
        (ReportState.Failed, "failed"),
        (ReportState.Skipped, "skipped"));

    private static readonly WireTable<BisectVerdict> BisectVerdicts = new(
        (BisectVerdict.Culprit, "culprit"),
        (BisectVerdict.NotReproducible, "notreproducible"),
        (BisectVerdict.NotInRange, "notinrange"),
        (BisectVerdict.Inconclusive, "inconclusive"),
        (BisectVerdict.Error, "error"),
        (BisectVerdict.Cancelled, "cancelled"));

    // Declared after the tables: static fields initialize in order.
    private static readonly FrozenDictionary<Type, IWireTable> Tables = new IWireTable[]
    {
        JobResults, JobStates, RunCauses, JobKinds, StepKinds, JobPriorities, TempestTestStatuses, ReportStates, BisectVerdicts,
    }.ToFrozenDictionary(t => t.EnumType);

    /// <summary>Every enum that has wire names; the JSON converter writes these and no others.</summary>
    public static IReadOnlyCollection<Type> Enums => Tables.Keys;

    public static string ToWire(this JobResult value) => JobResults.Name(value);

    public static string ToWire(this JobState value) => JobStates.Name(value);

    public static string ToWire(this RunCause value) => RunCauses.Name(value);

    public static string ToWire(this JobKind value) => JobKinds.Name(value);

    public static string ToWire(this StepKind value) => StepKinds.Name(value);

    public static string ToWire(this JobPriority value) => JobPriorities.Name(value);

    public static string ToWire(this TempestTestStatus value) => TempestTestStatuses.Name(value);

    public static string ToWire(this ReportState value) => ReportStates.Name(value);

    public static string ToWire(this BisectVerdict value) => BisectVerdicts.Name(value);

    /// <summary>For code generic over the enums (the store, the JSON converter); others call <c>ToWire()</c>.</summary>
    public static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        Table<TEnum>().Name(value);

    /// <summary>The value whose wire name is <paramref name="text"/>, exactly (lower case); false for anything else.</summary>
    public static bool TryParseWire<TEnum>(string? text, out TEnum value)
        where TEnum : struct, Enum =>
        Table<TEnum>().TryParse(text, out value);

    /// <summary>Every value of <typeparamref name="TEnum"/> with its wire name, in declaration order.</summary>
    public static IReadOnlyList<(TEnum Value, string Name)> All<TEnum>()
        where TEnum : struct, Enum =>
        Table<TEnum>().Entries;

    internal static bool Has(Type enumType) => Tables.ContainsKey(enumType);

    private static WireTable<TEnum> Table<TEnum>()
        where TEnum : struct, Enum =>
        Tables.TryGetValue(typeof(TEnum), out IWireTable? table)
            ? (WireTable<TEnum>)table
            : throw new ArgumentException($"{typeof(TEnum).Name} has no wire names; add its table to WireNames.", nameof(TEnum));

    private interface IWireTable
    {
        Type EnumType { get; }
    }

    private sealed class WireTable<TEnum>(params (TEnum Value, string Name)[] entries) : IWireTable
        where TEnum : struct, Enum
    {
        private readonly FrozenDictionary<TEnum, string> _names = entries.ToFrozenDictionary(e => e.Value, e => e.Name);

        private readonly FrozenDictionary<string, TEnum> _values = entries.ToFrozenDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);

        public Type EnumType => typeof(TEnum);

        public IReadOnlyList<(TEnum Value, string Name)> Entries { get; } = entries;

        // A value missing from the table is a bug: WireNamesTests fails on it before this can throw in production.
        public string Name(TEnum value) =>
            _names.TryGetValue(value, out string? name)
                ? name
                : throw new ArgumentOutOfRangeException(nameof(value), value, $"{typeof(TEnum).Name}.{value} has no wire name; add it to WireNames.");

        public bool TryParse(string? text, out TEnum value) =>
            _values.TryGetValue(text ?? "", out value);
    }
}
