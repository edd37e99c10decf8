using System.Security.Cryptography;
using System.Text;
using CiRunner.Configuration;

namespace CiRunner.Web;

/// <summary>
/// The token rules of the HTTP surface: writes always need the API token as a bearer token; reads need it only
/// with <c>Http:ProtectReads</c>. No token configured means 503 (saying which variable to set), a missing or
/// wrong one 401.
/// </summary>
internal static class ApiAccess
{
    /// <summary>Null when the request carries the configured token; else the refusal to send.</summary>
    public static IResult? Authorize(HttpContext http, HttpOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);

        // Read per request: setting the variable needs a restart anyway, but this keeps the token out of DI.
        string? token = options.ReadApiToken();
        if (token is null)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, options.ApiTokenFile is null
                ? $"Disabled: no API token is set. Set the environment variable {options.ApiTokenVariable} for the service (the name comes from Http:ApiTokenVariable) and restart it."
                : $"Disabled: no API token: {options.ApiToken.Describe()} is empty or unreadable. Write the token into it (readable only by the service's user).");
        }

        string header = http.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        string given = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? header[Scheme.Length..].Trim() : "";

        // Constant time, so the answer's timing does not reveal how much of a guess was right.
        bool matches = given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token));
        if (!matches)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Error(StatusCodes.Status401Unauthorized, $"Missing or wrong API token: send 'Authorization: Bearer <token>' with the value of {(options.ApiTokenFile is null ? options.ApiTokenVariable : options.ApiToken.Describe())}.");
        }

        return null;
    }

    /// <summary>An endpoint filter for API reads: open unless <c>Http:ProtectReads</c> is true; then the token or a browser's login cookie.</summary>
    public static async ValueTask<object?> RequireReadAccess(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        HttpContext http = context.HttpContext;
        HttpOptions options = http.RequestServices.GetRequiredService<CiRunnerSettings>().Http;
        if (options.ProtectReads && !BrowserLogin.HasValidCookie(http, options) && Authorize(http, options) is { } refused)
        {
            return refused;
        }

        return await next(context);
    }

    /// <summary>
    /// An endpoint filter for dashboard pages: like <see cref="RequireReadAccess"/>, but a browser without the login
    /// cookie is sent to the login form (and back afterwards) instead of getting a JSON 401.
    /// </summary>
    public static async ValueTask<object?> RequirePageAccess(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        HttpContext http = context.HttpContext;
        HttpOptions options = http.RequestServices.GetRequiredService<CiRunnerSettings>().Http;
        if (!options.ProtectReads)
        {
            return await next(context);
        }

        if (BrowserLogin.HasValidCookie(http, options))
        {
            BrowserLogin.MarkLoggedIn(http);
            return await next(context);
        }

        if (Authorize(http, options) is not { } refused)
        {
            return await next(context);
        }

        if (options.ReadApiToken() is null)
        {
            return refused;
        }

        http.Response.Headers.Remove("WWW-Authenticate");
        return Microsoft.AspNetCore.Http.Results.Redirect(BrowserLogin.LoginPath(http));
    }

    /// <summary>An endpoint filter for write actions: always the token.</summary>
    public static async ValueTask<object?> RequireWriteAccess(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        HttpContext http = context.HttpContext;
        if (Authorize(http, http.RequestServices.GetRequiredService<CiRunnerSettings>().Http) is { } refused)
        {
            return refused;
        }

        return await next(context);
    }

    public static IResult Error(int status, string message) =>
        Microsoft.AspNetCore.Http.Results.Json(new Dictionary<string, string>(StringComparer.Ordinal) { ["error"] = message }, statusCode: status);
}
