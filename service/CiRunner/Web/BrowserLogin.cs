using System.Security.Cryptography;
using System.Text;
using CiRunner.Configuration;

namespace CiRunner.Web;

/// <summary>
/// A browser's way in when <c>Http:ProtectReads</c> is on: the login form takes the API token once and sets a cookie
/// that stands for it on reads, as the bearer header does. The cookie holds an HMAC of a fixed label keyed with the
/// token, never the token: it cannot be turned back into the token, and changing the token logs every browser out.
/// </summary>
internal static class BrowserLogin
{
    public const string CookieName = "cirunner_login";

    private static readonly object LoggedInItem = new();

    private static readonly byte[] Label = Encoding.UTF8.GetBytes("cirunner dashboard login v1");

    /// <summary>The cookie value that <paramref name="token"/> gives.</summary>
    public static string CookieValue(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), Label))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Whether the request carries the login cookie of the configured token.</summary>
    public static bool HasValidCookie(HttpContext http, HttpOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        string? token = options.ReadApiToken();
        if (token is null || !http.Request.Cookies.TryGetValue(CookieName, out string? given) || string.IsNullOrEmpty(given))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), Encoding.ASCII.GetBytes(CookieValue(token)));
    }

    /// <summary>
    /// Marks a page request that came with a valid login cookie, so that the page offers a log-out button (the page
    /// filter checks the cookie once; the layout reads the mark).
    /// </summary>
    public static void MarkLoggedIn(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[LoggedInItem] = true;
    }

    /// <summary>Whether <see cref="MarkLoggedIn"/> marked this request.</summary>
    public static bool IsLoggedIn(HttpContext? http) => http?.Items.ContainsKey(LoggedInItem) == true;

    public static CookieOptions CookieOptions(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
            IsEssential = true,
        };
    }

    /// <summary>
    /// Where to go after logging in: a path on this site only (an absolute or protocol-relative address would make the
    /// login form an open redirect).
    /// </summary>
    public static string SafeReturnPath(string? returnUrl) =>
        returnUrl is { Length: > 0 } path && path[0] == '/' && !path.StartsWith("//", StringComparison.Ordinal) && !path.StartsWith("/\\", StringComparison.Ordinal)
            && !path.StartsWith("/login", StringComparison.Ordinal) && !path.StartsWith("/logout", StringComparison.Ordinal)
            ? path
            : "/";

    /// <summary>The login page's address that comes back to this request's page.</summary>
    public static string LoginPath(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        string here = http.Request.Path + http.Request.QueryString;
        return "/login?returnUrl=" + Uri.EscapeDataString(here);
    }
}
