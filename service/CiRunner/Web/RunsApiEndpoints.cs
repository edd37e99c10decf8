using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Scheduling;

namespace CiRunner.Web;

/// <summary>The body of <c>POST /api/runs</c>.</summary>
public sealed record RunRequestBody(string? Module, string? Branch, string? Commit, string? RequestedBy);

/// <summary>The answer to a created run.</summary>
public sealed record RunCreatedBody(long RunId, string Module, string Branch, string Commit, int Jobs);

/// <summary>One module in <c>GET /api/modules</c>.</summary>
/// <param name="Module">The module's name.</param>
/// <param name="Url">Its remote, credentials redacted.</param>
/// <param name="Poll">How its polls go; null before the first.</param>
/// <param name="Branches">The heads stored for its branches.</param>
/// <param name="NextPollAt">When the module is polled next; null while the service starts or stops.</param>
public sealed record ModuleStatusBody(string Module, string Url, ModulePollStatus? Poll, IReadOnlyList<BranchHeadRecord> Branches, DateTimeOffset? NextPollAt);

/// <summary>
/// The JSON API for triggers and polling: <c>GET /api/modules</c> (a read: open unless <c>Http:ProtectReads</c>) and
/// <c>POST /api/runs</c> (a manual run; writes need the API token as a bearer token).
/// </summary>
internal static class RunsApiEndpoints
{
    public static void MapRunsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/modules", async (CiRunnerSettings settings, PollStatusStore pollStatus, PollStateStore pollState, IPollSchedule pollSchedule, CancellationToken cancellationToken) =>
        {
            var statuses = (await pollStatus.ListAsync(cancellationToken)).ToDictionary(s => s.Module, StringComparer.Ordinal);
            IReadOnlyList<BranchHeadRecord> heads = await pollState.ListAsync(null, cancellationToken);
            var modules = new List<ModuleStatusBody>(settings.Modules.Count);
            foreach (TrackedModule m in settings.Modules)
            {
                modules.Add(new ModuleStatusBody(
                    m.Name,
                    UrlCredentials.RedactText(UrlCredentials.Redact(m.Url)),
                    statuses.GetValueOrDefault(m.Name),
                    heads.Where(h => h.Module == m.Name).ToList(),
                    await pollSchedule.NextPollAtAsync(m.Name, cancellationToken)));
            }

            return Microsoft.AspNetCore.Http.Results.Json(modules);
        }).AddEndpointFilter(ApiAccess.RequireReadAccess);

        endpoints.MapPost("/api/runs", async (HttpContext http, RunRequestBody? body, CiRunnerSettings settings, ManualTrigger trigger, CancellationToken cancellationToken) =>
        {
            if (ApiAccess.Authorize(http, settings.Http) is { } refused)
            {
                return refused;
            }

            if (body is null || string.IsNullOrWhiteSpace(body.Module))
            {
                return Error(StatusCodes.Status400BadRequest, "The body must be JSON with \"module\" and \"branch\" or \"commit\".");
            }

            ManualRunOutcome outcome = await trigger.StartAsync(
                new ManualRunRequest(body.Module, body.Branch, body.Commit, body.RequestedBy ?? "api"),
                cancellationToken);
            if (outcome.Run is { } run)
            {
                var created = new RunCreatedBody(run.Run.Id, run.Run.Module, run.Run.Branch, run.Run.CommitSha, run.Jobs.Count);
                return Microsoft.AspNetCore.Http.Results.Json(created, statusCode: StatusCodes.Status201Created);
            }

            int status = outcome.Refusal switch
            {
                ManualRunRefusal.NotFound => StatusCodes.Status404NotFound,
                ManualRunRefusal.RemoteFailed => StatusCodes.Status502BadGateway,
                _ => StatusCodes.Status400BadRequest,
            };
            return Error(status, outcome.Message ?? "The run was refused.");
        }).AddEndpointFilter(DatabaseLockedAnswer.Filter);
    }

    private static IResult Error(int status, string message) => ApiAccess.Error(status, message);
}
