using System.Security.Cryptography;
using System.Text;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;
using CiRunner.Scheduling;

namespace CiRunner.Web;

/// <summary>The body of <c>POST /api/runs</c>.</summary>
public sealed record RunRequestBody(string? Module, string? Branch, string? Commit, string? RequestedBy);

/// <summary>The answer to a created run.</summary>
public sealed record RunCreatedBody(long RunId, string Module, string Branch, string Commit, int Jobs);

/// <summary>One module in <c>GET /api/modules</c>: its poll status (null before its first poll) and the branch heads last seen.</summary>
public sealed record ModuleStatusBody(string Module, string Url, ModulePollStatus? Poll, IReadOnlyList<BranchHeadRecord> Branches);

/// <summary>
/// The JSON API for triggers and polling: <c>GET /api/modules</c> (open, like the dashboard) and
/// <c>POST /api/runs</c> (a manual run; writes need the API token as a bearer token).
/// </summary>
internal static class RunsApiEndpoints
{
    public static void MapRunsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/modules", async (CiRunnerSettings settings, PollStatusStore pollStatus, PollStateStore pollState, CancellationToken cancellationToken) =>
        {
            var statuses = (await pollStatus.ListAsync(cancellationToken)).ToDictionary(s => s.Module, StringComparer.Ordinal);
            IReadOnlyList<BranchHeadRecord> heads = await pollState.ListAsync(null, cancellationToken);
            List<ModuleStatusBody> modules = settings.Modules
                .Select(m => new ModuleStatusBody(
                    m.Name,
                    UrlCredentials.RedactText(UrlCredentials.Redact(m.Url)),
                    statuses.GetValueOrDefault(m.Name),
                    heads.Where(h => h.Module == m.Name).ToList()))
                .ToList();
            return Microsoft.AspNetCore.Http.Results.Json(modules);
        });

        endpoints.MapPost("/api/runs", async (HttpContext http, RunRequestBody? body, CiRunnerSettings settings, ManualTrigger trigger, CancellationToken cancellationToken) =>
        {
            if (Authorize(http, settings.Http) is { } refused)
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
        });
    }

    /// <summary>Null when the request carries the configured token; else the refusal to send.</summary>
    private static IResult? Authorize(HttpContext http, HttpOptions options)
    {
        // Read per request: setting the variable needs a restart anyway, but this keeps the token out of DI.
        string? token = options.ReadApiToken();
        if (token is null)
        {
            return Error(StatusCodes.Status503ServiceUnavailable,
                $"Write actions are disabled: no API token is set. Set the environment variable {options.ApiTokenVariable} for the service (the name comes from Http:ApiTokenVariable) and restart it.");
        }

        string header = http.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        string given = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? header[Scheme.Length..].Trim() : "";

        // Constant time, so the answer's timing does not reveal how much of a guess was right.
        bool matches = given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token));
        if (!matches)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Error(StatusCodes.Status401Unauthorized, $"Missing or wrong API token: send 'Authorization: Bearer <token>' with the value of {options.ApiTokenVariable}.");
        }

        return null;
    }

    private static IResult Error(int status, string message) =>
        Microsoft.AspNetCore.Http.Results.Json(new Dictionary<string, string>(StringComparer.Ordinal) { ["error"] = message }, statusCode: status);
}
