using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Polling;

namespace CiRunner.Reporting;

/// <summary>
/// Tells the poller which branch a patch set's change targets, from Gerrit's REST API
/// (<c>GET /a/changes/&lt;project&gt;~&lt;number&gt;</c>). Gerrit trouble never stops a poll: the poller then infers the
/// branch from history, and says so.
/// </summary>
public sealed partial class GerritPatchSetLookup : IPatchSetLookup
{
    /// <summary>A poll waits at most this long for Gerrit before it falls back to inference.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly GerritOptions _options;
    private readonly GerritClient _client;
    private readonly ILogger<GerritPatchSetLookup> _logger;

    public GerritPatchSetLookup(CiRunnerSettings settings, GerritClient client, ILogger<GerritPatchSetLookup> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _options = settings.Gerrit ?? throw new ArgumentException("Gerrit is not configured.", nameof(settings));
        _client = client;
        _logger = logger;
    }

    public async Task<PatchSetInfo?> FindAsync(TrackedModule trackedModule, string changeRef, string commitSha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trackedModule);
        TrackedModule module = trackedModule;
        if (!ChangeRef.TryParse(changeRef, out ChangeRef parsed))
        {
            return null;
        }

        string project = _options.ProjectOf(module.Name);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Patience);
        try
        {
            GerritChange? change = await _client.GetChangeAsync(project, parsed.Number, timeout.Token);
            if (change is null)
            {
                LogUnknownChange(module.Name, changeRef, parsed.Number, project);
                return null;
            }

            return new PatchSetInfo(change.Branch, change.Number, parsed.PatchSet);
        }
        catch (GerritException e)
        {
            LogLookupFailed(module.Name, changeRef, e.Message);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogLookupFailed(module.Name, changeRef, $"Gerrit {_client.Server} did not answer within {Patience.TotalSeconds:0} s");
            return null;
        }
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Warning, Message = "{Module}: Gerrit has no change {Change} in project {Project} for {ChangeRef}")]
    private partial void LogUnknownChange(string module, string changeRef, int change, string project);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "{Module}: could not ask Gerrit about {ChangeRef}: {Error}")]
    private partial void LogLookupFailed(string module, string changeRef, string error);
}
