using System.Globalization;
using CiRunner.Configuration;
using CiRunner.Results;
using Polly;
using Polly.Retry;

namespace CiRunner.Reporting;

/// <summary>
/// Reports patch-set and recheck runs to Gerrit as a third-party CI: one review per patch set per run, with the
/// message <see cref="GerritReview.FormatMessage"/> writes and a vote when <c>Gerrit:Voting</c> is on. The compliance
/// guard (<see cref="GerritReview.Decide"/>) holds infrastructure trouble back; a change that no longer merges is held
/// too, and a closed one skipped. Delivery is idempotent: before posting, the change's messages are searched for
/// this run's review (a timed-out POST may have reached Gerrit, and Gerrit stores every review it is sent).
/// </summary>
public sealed partial class GerritReporter : IRunReporter
{
    private readonly CiRunnerSettings _settings;
    private readonly GerritOptions _options;
    private readonly GerritClient _client;
    private readonly ReportLinks _links;
    private readonly ILogger<GerritReporter> _logger;
    private readonly ResiliencePipeline _retry;

    public GerritReporter(CiRunnerSettings settings, GerritClient client, ReportLinks links, TimeProvider timeProvider, ILogger<GerritReporter> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _options = settings.Gerrit ?? throw new ArgumentException("Gerrit is not configured.", nameof(settings));
        _client = client;
        _links = links;
        _logger = logger;

        if (_options.ReadLogin() is null)
        {
            // Said at start, not only when the first report waits for it.
            LogNoLogin(_options.DescribeLogin(), _options.Url);
        }

        // A Gerrit that hiccups (a restart behind its proxy, a 503 under load) usually answers a moment later; one that
        // stays down is tried again by the outbox with a growing delay, so the retries here stay few and short.
        _retry = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<GerritException>(e => e.Failure == GerritFailure.Transient),
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromSeconds(1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    LogRetry(args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .Build();
    }

    public string Name => "gerrit";

    public bool AppliesTo(RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return run.ChangeRef is not null
            && run.Cause is RunCause.PatchSet or RunCause.Recheck
            && _settings.FindModule(run.Module) is { ChangeRefs: true };
    }

    public async Task<ReportOutcome> ReportAsync(FinishedRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        GerritVerdict verdict = GerritReview.Decide(run, _options);
        switch (verdict.Kind)
        {
            case GerritVerdictKind.Skip:
                return ReportOutcome.Skipped(verdict.Reason);
            case GerritVerdictKind.Hold:
                return ReportOutcome.Held(verdict.Reason);
        }

        if (!ChangeRef.TryParse(run.Run.ChangeRef, out ChangeRef changeRef))
        {
            return ReportOutcome.Failed($"Run {run.Run.Id} has no Gerrit patch-set ref ({run.Run.ChangeRef ?? "none"}).");
        }

        string project = _options.ProjectOf(run.Run.Module);
        try
        {
            return await _retry.ExecuteAsync(
                async token => await DeliverAsync(run, verdict, project, changeRef, token),
                cancellationToken);
        }
        catch (GerritException e)
        {
            return e.Failure switch
            {
                GerritFailure.Transient or GerritFailure.Login => ReportOutcome.Retry(e.Message),
                GerritFailure.NotFound => ReportOutcome.Failed($"{e.Message} Is module {run.Run.Module}'s project {project} right (Gerrit:Projects)?"),
                _ => ReportOutcome.Failed(e.Message),
            };
        }
    }

    private async Task<ReportOutcome> DeliverAsync(FinishedRun run, GerritVerdict verdict, string project, ChangeRef changeRef, CancellationToken cancellationToken)
    {
        int number = changeRef.Number;
        GerritChange? change = await _client.GetChangeAsync(project, number, cancellationToken);
        if (change is null)
        {
            return ReportOutcome.Failed($"Gerrit {_client.Server} has no change {number} in project {project} (module {run.Run.Module}; is Gerrit:Projects right?).");
        }

        if (change.Status is "ABANDONED" or "MERGED")
        {
            return ReportOutcome.Skipped($"Change {number} is {change.Status.ToLowerInvariant()}; a closed change gets no CI review.");
        }

        if (!await _client.IsMergeableAsync(project, number, run.Run.CommitSha, cancellationToken))
        {
            return ReportOutcome.Held(
                $"Not posted: Gerrit says patch set {changeRef.PatchSet} of change {number} does not merge cleanly into {change.Branch} (a merge conflict is not a test result). " +
                "The author has to rebase it; the new patch set is tested then.");
        }

        string tag = GerritReview.Tag(_options);
        string marker = GerritReview.RunMarker(run.Run.Id, _links);
        IReadOnlyList<GerritMessage> messages = await _client.ListMessagesAsync(project, number, cancellationToken);
        if (messages.FirstOrDefault(m => m.Tag == tag && m.Message.Contains(marker, StringComparison.Ordinal)) is { } posted)
        {
            return ReportOutcome.Sent($"Already on change {number} (message {posted.Id} of {posted.Date}): an earlier attempt got through.");
        }

        var review = new GerritReviewInput
        {
            Message = GerritReview.FormatMessage(run, verdict, _options, _links),
            Tag = tag,
            Labels = verdict.Vote is { } vote ? new Dictionary<string, int>(StringComparer.Ordinal) { [_options.Label] = vote } : null,
            Notify = _options.Notify,
        };
        await _client.SetReviewAsync(project, number, run.Run.CommitSha, review, cancellationToken);
        string voted = verdict.Vote is { } given ? string.Create(CultureInfo.InvariantCulture, $"{_options.Label}{given:+0;-0}") : "no vote";
        return ReportOutcome.Sent($"Review on change {number}, patch set {changeRef.PatchSet}: {verdict.Reason} ({voted}).");
    }

    [LoggerMessage(EventId = 7102, Level = LogLevel.Error, Message = "No Gerrit login: set {Login} for the service to the CI account's user name and HTTP password on {Url}; until then Gerrit reports wait and recheck is not read")]
    private partial void LogNoLogin(string login, string url);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Gerrit request failed; retry {Retry} in {Delay}: {Error}")]
    private partial void LogRetry(int retry, TimeSpan delay, string error);
}
