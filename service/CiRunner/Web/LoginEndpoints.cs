using System.Security.Cryptography;
using System.Text;
using CiRunner.Configuration;
using static CiRunner.Web.Html;

namespace CiRunner.Web;

/// <summary>
/// <c>GET /login</c> (the form), <c>POST /login</c> (checks the token, sets the login cookie, goes back to the page
/// asked for) and <c>POST /logout</c>. Only useful with <c>Http:ProtectReads</c>; the JSON API keeps its bearer token.
/// </summary>
internal static class LoginEndpoints
{
    public static void MapLogin(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/login", (string? returnUrl, CiRunnerSettings settings) => Form(settings.Http, returnUrl, message: null, StatusCodes.Status200OK));
        endpoints.MapPost("/login", LoginAsync);
        endpoints.MapPost("/logout", (HttpContext http) =>
        {
            http.Response.Cookies.Delete(BrowserLogin.CookieName, BrowserLogin.CookieOptions(http));
            return Microsoft.AspNetCore.Http.Results.Redirect("/login", permanent: false, preserveMethod: false);
        });
    }

    private static async Task<IResult> LoginAsync(HttpContext http, CiRunnerSettings settings, CancellationToken cancellationToken)
    {
        HttpOptions options = settings.Http;
        if (!http.Request.HasFormContentType)
        {
            return Form(options, null, "Send the form: token=<the API token>.", StatusCodes.Status400BadRequest);
        }

        IFormCollection form = await http.Request.ReadFormAsync(cancellationToken);
        string? returnUrl = form["returnUrl"];
        string? token = options.ReadApiToken();
        if (token is null)
        {
            return Form(options, returnUrl, null, StatusCodes.Status503ServiceUnavailable);
        }

        string given = form["token"].ToString();
        if (given.Length == 0 || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token)))
        {
            return Form(options, returnUrl, "That is not the API token.", StatusCodes.Status401Unauthorized);
        }

        http.Response.Cookies.Append(BrowserLogin.CookieName, BrowserLogin.CookieValue(token), BrowserLogin.CookieOptions(http));
        return Microsoft.AspNetCore.Http.Results.Redirect(BrowserLogin.SafeReturnPath(returnUrl));
    }

    private static IResult Form(HttpOptions options, string? returnUrl, string? message, int statusCode)
    {
        var body = new StringBuilder();
        if (options.ReadApiToken() is null)
        {
            body.Append("<p class=\"notice\" role=\"alert\">Logging in is disabled: no API token is set. Set the environment variable <code>")
                .Append(E(options.ApiTokenVariable)).Append("</code> for the service (the name comes from <code>Http:ApiTokenVariable</code>) and restart it.</p>");
            return Page("Log in", body.ToString(), statusCode: statusCode);
        }

        if (!options.ProtectReads)
        {
            body.Append("<p class=\"meta\">The dashboard is open to everyone here (<code>Http:ProtectReads</code> is off); logging in changes nothing.</p>");
        }

        if (message is not null)
        {
            body.Append("<p class=\"notice\" role=\"alert\">").Append(E(message)).Append("</p>");
        }

        body.Append("<form class=\"login\" method=\"post\" action=\"/login\">")
            .Append("<label for=\"token\">API token (the value of <code>").Append(E(options.ApiTokenVariable)).Append("</code>)</label>")
            .Append("<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>")
            .Append("<input type=\"hidden\" name=\"returnUrl\" value=\"").Append(E(BrowserLogin.SafeReturnPath(returnUrl))).Append("\">")
            .Append("<button type=\"submit\">Log in</button></form>");
        return Page("Log in", body.ToString(), statusCode: statusCode);
    }
}
