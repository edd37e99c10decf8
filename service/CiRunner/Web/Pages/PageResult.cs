using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CiRunner.Web.Pages;

/// <summary>
/// A page rendered by its Razor component: the component encodes every value it shows, so no page is built by hand.
/// </summary>
internal static class PageResult
{
    /// <summary>Blazor's renderer marks each page for blazor.web.js's enhanced navigation; these pages load no script.</summary>
    private const string EnhancedNavigationHeader = "blazor-enhanced-nav";

    /// <summary>
    /// Every page's Content-Security-Policy: no script but the job page's live log (allowed by its hash), no plugins,
    /// no base URL from the page. Styles stay inline (the layout's style element), so no style rule is set.
    /// </summary>
    public static string ContentSecurityPolicy { get; } = $"script-src {LiveLogScript.Hash}; object-src 'none'; base-uri 'none'";

    /// <summary><typeparamref name="TPage"/> with <paramref name="parameters"/> (an object whose properties are its parameters).</summary>
    public static IResult Render<TPage>(object parameters, int statusCode = StatusCodes.Status200OK)
        where TPage : IComponent =>
        new Result(new RazorComponentResult<TPage>(parameters) { StatusCode = statusCode });

    private sealed class Result(RazorComponentResult page) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            // The responses keep the headers they had before the pages were components.
            HttpResponse response = httpContext.Response;
            response.OnStarting(() =>
            {
                response.Headers.Remove(EnhancedNavigationHeader);
                response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                return Task.CompletedTask;
            });
            return page.ExecuteAsync(httpContext);
        }
    }
}
