using System.Security.Cryptography;
using System.Text;
using CiRunner.Configuration;
using CiRunner.Web.Pages;

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

    private static IResult Form(HttpOptions options, string? returnUrl, string? message, int statusCode) =>
        PageResult.Render<LoginPage>(
            new
            {
                TokenMissing = options.ReadApiToken() is null,
                options.ProtectReads,
                TokenVariable = options.ApiTokenVariable,
                Message = message,
                ReturnPath = BrowserLogin.SafeReturnPath(returnUrl),
            },
            statusCode);
}
