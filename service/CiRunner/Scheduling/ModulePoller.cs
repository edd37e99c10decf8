using System.Collections.Concurrent;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Polling;
using CiRunner.Telemetry;
using Polly;
using Polly.Retry;

namespace CiRunner.Scheduling;

/// <summary>How one poll of a module ended.</summary>
/// <param name="Module">The module.</param>
/// <param name="Changes">What changed on its refs; empty when nothing did or the poll failed.</param>
/// <param name="RunIds">The runs started for the changes, in order.</param>
/// <param name="Error">The failure, redacted; null when the poll succeeded.</param>
/// <param name="Fetched">Whether the poll fetched into the mirror; false when the remote's refs showed nothing new.</param>
public sealed record ModulePollOutcome(string Module, IReadOnlyList<HeadChange> Changes, IReadOnlyList<long> RunIds, string? Error, bool Fetched = false)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// One poll of one module: list the remote's refs and fetch into its mirror only when a tracked ref moved (retried
/// with backoff), compare the heads with the stored poll state, start a run per new head through
/// <see cref="RunLauncher"/>, then store the heads. A poll that finds nothing new writes nothing: its success is kept
/// by <see cref="PollStatusStore.RecordQuietSuccess"/>. A failure is logged, stored on the module's poll status and
/// returned, never thrown, so one broken remote does not stop the others.
/// </summary>
public sealed partial class ModulePoller
{
    private readonly ModuleMirrors _mirrors;
    private readonly PollStateStore _pollState;
    private readonly PollStatusStore _pollStatus;
    private readonly RunLauncher _launcher;
    private readonly ILogger<ModulePoller> _logger;
    private readonly ResiliencePipeline _fetchRetry;
    private readonly TimeProvider _timeProvider;
    private readonly CiRunnerTelemetry _telemetry;
    private readonly IReadOnlyList<IPatchSetLookup> _patchSets;

    public ModulePoller(
        ModuleMirrors mirrors,
        PollStateStore pollState,
        PollStatusStore pollStatus,
        RunLauncher launcher,
        TimeProvider timeProvider,
        ILogger<ModulePoller> logger,
        CiRunnerTelemetry telemetry,
        IEnumerable<IPatchSetLookup> patchSets)
    {
        // Registered only with a Gerrit section: none means every patch set's branch is inferred from history.
        _patchSets = [.. patchSets];
        _timeProvider = timeProvider;
        _telemetry = telemetry;
        _mirrors = mirrors;
        _pollState = pollState;
        _pollStatus = pollStatus;
        _launcher = launcher;
        _logger = logger;

        // A remote that hiccups (a dropped connection, a busy server) usually answers a second later; one that is
        // down stays down, and the next poll tries again anyway, so two retries keep a poll short.
        _fetchRetry = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<LibGit2Sharp.LibGit2SharpException>(),
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromSeconds(1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    string module = args.Context.Properties.GetValue(ModuleKey, "?");
                    string url = args.Context.Properties.GetValue(UrlKey, "?");
                    LogFetchRetry(module, url, args.AttemptNumber + 1, args.RetryDelay, UrlCredentials.RedactText(args.Outcome.Exception?.Message ?? ""));
                    return default;
                },
            })
            .Build();
    }

    /// <summary>
    /// How long a module's refs, once compared with the stored heads and found settled, are trusted without asking the
    /// database again while the mirror still holds exactly them. Anything this process does to a module (a fetch by a
    /// poll or a manual run) changes the mirror's refs and ends the trust at once; the bound covers what only the
    /// database shows, such as another instance of a cluster storing a head this mirror never held.
    /// </summary>
    public static readonly TimeSpan SettledTrust = TimeSpan.FromMinutes(1);

    /// <summary>Per module, the mirror's refs its last full comparison found settled, and when (a timestamp).</summary>
    private readonly ConcurrentDictionary<string, (MirrorRefs Refs, long At)> _settled = new(StringComparer.Ordinal);

    private static ResiliencePropertyKey<string> ModuleKey { get; } = new("cirunner.module");

    private static ResiliencePropertyKey<string> UrlKey { get; } = new("cirunner.url");

    public async Task<ModulePollOutcome> PollAsync(TrackedModule module, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(module);
        long started = _timeProvider.GetTimestamp();
        using System.Diagnostics.Activity? activity = CiRunnerTelemetry.ActivitySource.StartActivity("poll");
        activity?.SetTag("cirunner.module", module.Name);
        ModulePollOutcome outcome = await PollOnceAsync(module, cancellationToken);
        _telemetry.PollFinished(module.Name, _timeProvider.GetElapsedTime(started), outcome.Succeeded, outcome.Changes.Count(c => c.Triggers));
        if (!outcome.Succeeded)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, outcome.Error);
        }

        return outcome;
    }

    private async Task<ModulePollOutcome> PollOnceAsync(TrackedModule module, CancellationToken cancellationToken)
    {
        string url = UrlCredentials.RedactText(UrlCredentials.Redact(module.Url));
        try
        {
            MirrorPoll polled = await PollMirrorWithRetryAsync(module, url, cancellationToken);
            MirrorRefs refs = polled.Refs;
            if (!polled.Fetched && IsSettled(module.Name, refs))
            {
                // The refs the last comparison settled on, unchanged: nothing to compare, read or write.
                _pollStatus.RecordQuietSuccess(module.Name);
                LogPolled(module.Name, 0, 0, fetched: false);
                return new ModulePollOutcome(module.Name, [], [], Error: null);
            }

            _settled.TryRemove(module.Name, out _);

            // Compared with the stored heads even when nothing was fetched: a poll that fetched but could not store
            // (a locked database) left the mirror ahead of the stored state, and its heads are found here.
            IReadOnlyList<BranchHeadRecord> stored = await _pollState.ListAsync(module.Name, cancellationToken);
            ModulePollStatus? status = await _pollStatus.GetAsync(module.Name, cancellationToken);
            bool polledBefore = status?.LastSuccessAt is not null;
            IReadOnlyList<HeadChange> changes = await _mirrors.DetectChangesAsync(module, refs, stored, polledBefore, cancellationToken);

            var runIds = new List<long>();
            foreach (HeadChange change in changes)
            {
                long? runId = await ApplyAsync(module, change, refs, stored, cancellationToken);
                if (runId is { } id)
                {
                    runIds.Add(id);
                }
            }

            if (changes.Count == 0 && status is { LastSuccessAt: not null, ConsecutiveFailures: 0 })
            {
                // The stored status already says the module polls fine; only the time moves, kept without a write.
                _pollStatus.RecordQuietSuccess(module.Name);
                _settled[module.Name] = (refs, _timeProvider.GetTimestamp());
            }
            else
            {
                await _pollStatus.RecordSuccessAsync(module.Name, cancellationToken);
            }

            LogPolled(module.Name, changes.Count, runIds.Count, polled.Fetched);
            return new ModulePollOutcome(module.Name, changes, runIds, Error: null, polled.Fetched);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The next success goes the whole way, so it stores the recovery rather than a quiet poll.
            _settled.TryRemove(module.Name, out _);
            string error = UrlCredentials.RedactText($"{e.GetType().Name}: {e.Message}");
            error = module.Credentials?.Redact(error) ?? error;
            // A git error's text can quote the URL with its login, so only the redacted text is logged; other
            // failures (the database, a bug) keep their stack trace.
            LogPollFailed(module.Name, url, error, e is LibGit2Sharp.LibGit2SharpException ? null : e);
            try
            {
                await _pollStatus.RecordFailureAsync(module.Name, error, cancellationToken);
            }
            catch (Exception storeError) when (storeError is not OperationCanceledException)
            {
                LogStatusNotStored(module.Name, storeError.Message);
            }

            return new ModulePollOutcome(module.Name, [], [], error);
        }
    }

    private bool IsSettled(string module, MirrorRefs refs) =>
        _settled.TryGetValue(module, out (MirrorRefs Refs, long At) settled)
        && _timeProvider.GetElapsedTime(settled.At) < SettledTrust
        && SameRefs(settled.Refs.Branches, refs.Branches)
        && SameRefs(settled.Refs.ChangeRefs, refs.ChangeRefs);

    private static bool SameRefs(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(r => b.TryGetValue(r.Key, out string? sha) && sha == r.Value);

    private async Task<MirrorPoll> PollMirrorWithRetryAsync(TrackedModule module, string url, CancellationToken cancellationToken)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ModuleKey, module.Name);
        context.Properties.Set(UrlKey, url);
        try
        {
            return await _fetchRetry.ExecuteAsync(
                static async (ctx, state) => await state.Mirrors.PollAsync(state.Module, ctx.CancellationToken),
                context,
                (Mirrors: _mirrors, Module: module));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Starts the change's run (if it asks for one) with the head stored in the same transaction, so a failure right
    /// after (a crash, a locked database) neither loses nor repeats the run; heads that start nothing are stored here.
    /// </summary>
    private async Task<long?> ApplyAsync(TrackedModule module, HeadChange change, MirrorRefs refs, IReadOnlyList<BranchHeadRecord> stored, CancellationToken cancellationToken)
    {
        if (change.Kind == HeadChangeKind.Deleted)
        {
            if (await _pollState.MarkDeletedAsync(module.Name, change.Ref, cancellationToken))
            {
                LogBranchDeleted(module.Name, change.Ref, change.CommitSha);
            }

            return null;
        }

        if (change.Triggers)
        {
            RunTrigger trigger = change.IsPatchSet
                ? new RunTrigger(RunCause.PatchSet, module.Name, await TargetBranchAsync(module, change, refs, cancellationToken), change.CommitSha, change.Ref, HeadRef: change.Ref)
                : new RunTrigger(RunCause.Commit, module.Name, change.Ref, change.CommitSha, HeadRef: change.Ref);
            trigger = trigger with { SeenGeneration = stored.FirstOrDefault(h => h.Branch == change.Ref)?.Generation ?? 0 };
            LogHeadDetected(module.Name, change.Kind, change.Ref, change.PreviousSha, change.CommitSha);
            try
            {
                Results.RunDetail run = await _launcher.StartAsync(trigger, cancellationToken);
                return run.Run.Id;
            }
            catch (HeadAlreadyStartedException taken)
            {
                // Another instance polled the same remote a moment earlier; its run is the one for this head.
                LogHeadTaken(module.Name, change.Ref, change.CommitSha, taken.RunId);
                return null;
            }
        }

        await _pollState.UpsertAsync(module.Name, change.Ref, change.CommitSha, cancellationToken);
        return null;
    }

    /// <summary>The patch set's target branch: the review server's answer when it has one, else the guess from history.</summary>
    private async Task<string> TargetBranchAsync(TrackedModule module, HeadChange change, MirrorRefs refs, CancellationToken cancellationToken)
    {
        foreach (IPatchSetLookup lookup in _patchSets)
        {
            if (await lookup.FindAsync(module, change.Ref, change.CommitSha, cancellationToken) is { } known)
            {
                return known.Branch;
            }
        }

        string inferred = await _mirrors.TargetBranchOfPatchSetAsync(module, change.CommitSha, refs, cancellationToken);
        if (_patchSets.Count > 0)
        {
            LogTargetBranchInferred(module.Name, change.Ref, inferred);
        }

        return inferred;
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Polled {Module}: {ChangeCount} changes, {RunCount} runs started (fetched: {Fetched})")]
    private partial void LogPolled(string module, int changeCount, int runCount, bool fetched);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Polling {Module} from {Url} failed: {Error}")]
    private partial void LogPollFailed(string module, string url, string error, Exception? exception);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Fetching {Module} from {Url} failed; retry {Retry} in {Delay}: {Error}")]
    private partial void LogFetchRetry(string module, string url, int retry, TimeSpan delay, string error);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "{Module}: {Kind} on {Ref}, {PreviousSha} -> {CommitSha}")]
    private partial void LogHeadDetected(string module, HeadChangeKind kind, string @ref, string? previousSha, string commitSha);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "{Module}: branch {Branch} was deleted on the remote (last head {CommitSha})")]
    private partial void LogBranchDeleted(string module, string branch, string commitSha);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Warning, Message = "{Module}: the review server did not say which branch {ChangeRef} is for; testing it on {Branch}, inferred from history")]
    private partial void LogTargetBranchInferred(string module, string changeRef, string branch);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Information, Message = "{Module}: {Ref} at {CommitSha} was already started as run {RunId} by another instance")]
    private partial void LogHeadTaken(string module, string @ref, string commitSha, long? runId);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "{Module}: the poll failure could not be stored: {Error}")]
    private partial void LogStatusNotStored(string module, string error);
}
