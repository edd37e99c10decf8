using System.Text.Encodings.Web;
using System.Text.Unicode;
using CiRunner.Scheduling;

namespace CiRunner.Web;

public static class WebServiceCollectionExtensions
{
    /// <summary>What the dashboard and the API need beyond the stages: run control, log access, enums as their wire names in JSON.</summary>
    public static IServiceCollection AddWeb(this IServiceCollection services)
    {
        services.AddSingleton<RunControl>();
        services.AddSingleton<JobLogs>();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.Converters.Add(new WireEnumJsonConverter()));
        services.AddPages();
        return services;
    }

    /// <summary>
    /// What <see cref="Pages.PageResult"/> renders with beyond the request's services: the encoder its components write
    /// text with. No Blazor endpoint renderer, so no data protection key ring and no antiforgery (the pages' forms post
    /// to endpoints that check the login cookie or the token themselves).
    /// </summary>
    private static void AddPages(this IServiceCollection services) =>
        // Symbols (✓ ✗ ·) and non-Latin text stay readable in the page source; markup characters are still encoded.
        services.AddWebEncoders(options => options.TextEncoderSettings = new TextEncoderSettings(UnicodeRanges.All));

    /// <summary>Every page and endpoint: health, the dashboard, the JSON API.</summary>
    public static IEndpointRouteBuilder MapWeb(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapDashboard();
        endpoints.MapLogin();
        endpoints.MapApi();
        endpoints.MapLiveLog();
        endpoints.MapRunsApi();
        endpoints.MapScenarios();
        endpoints.MapCellHistory();
        return endpoints;
    }
}
