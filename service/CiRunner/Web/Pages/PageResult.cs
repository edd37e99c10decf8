using System.Reflection;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Rendering;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components.Web.HtmlRendering;

namespace CiRunner.Web.Pages;

/// <summary>
/// A page rendered by its Razor component: the component encodes every value it shows, so no page is built by hand.
/// </summary>
/// <remarks>
/// The pages are static HTML (no interactivity, no script but the live log's), so each is rendered by a
/// <see cref="HtmlRenderer"/> of its own request rather than Blazor's endpoint renderer. That renderer comes with
/// <c>AddRazorComponents</c>, which registers data protection, antiforgery and the components' endpoint stack at start:
/// about 5 MiB that an idle service, which Prometheus scrapes and nobody browses, carried for nothing (bench/idle.sh).
/// Now the components' code is loaded by the first page asked for.
/// </remarks>
internal static class PageResult
{
    /// <summary>
    /// Every page's Content-Security-Policy: no script but the job page's live log (allowed by its hash), no plugins,
    /// no base URL from the page. Styles stay inline (the layout's style element), so no style rule is set.
    /// </summary>
    public static string ContentSecurityPolicy { get; } = $"script-src {LiveLogScript.Hash}; object-src 'none'; base-uri 'none'";

    /// <summary><typeparamref name="TPage"/> with <paramref name="parameters"/> (an object whose properties are its parameters).</summary>
    public static IResult Render<TPage>(object parameters, int statusCode = StatusCodes.Status200OK)
        where TPage : IComponent =>
        new Result<TPage>(ParametersOf(parameters), statusCode);

    private static Dictionary<string, object?> ParametersOf(object parameters) =>
        parameters.GetType()
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(property => property.Name, property => property.GetValue(parameters), StringComparer.Ordinal);

    private sealed class Result<TPage>(Dictionary<string, object?> parameters, int statusCode) : IResult
        where TPage : IComponent
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            // Rendered whole before the first byte goes out, so a component that fails answers 500, not half a page.
            await using var renderer = new HtmlRenderer(httpContext.RequestServices, httpContext.RequestServices.GetRequiredService<ILoggerFactory>());
            string html = await renderer.Dispatcher.InvokeAsync(async () =>
            {
                HtmlRootComponent page = await renderer.RenderComponentAsync<CascadingValue<HttpContext>>(ParameterView.FromDictionary(new Dictionary<string, object?>
                {
                    // As Blazor's endpoint renderer does: the layout asks the request whether it came with the login cookie.
                    [nameof(CascadingValue<>.Value)] = httpContext,
                    [nameof(CascadingValue<>.IsFixed)] = true,
                    [nameof(CascadingValue<>.ChildContent)] = (RenderFragment)Page,
                }));
                return page.ToHtmlString();
            });

            HttpResponse response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = "text/html; charset=utf-8";
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            await response.WriteAsync(html, httpContext.RequestAborted);
        }

        private void Page(RenderTreeBuilder builder)
        {
            builder.OpenComponent<TPage>(0);
            foreach ((string name, object? value) in parameters)
            {
                builder.AddComponentParameter(1, name, value);
            }

            builder.CloseComponent();
        }
    }
}
