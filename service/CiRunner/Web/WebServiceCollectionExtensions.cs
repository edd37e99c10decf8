using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
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
    /// What <see cref="Pages.PageResult"/> renders with: the Razor component renderer, static only (no interactivity,
    /// no script).
    /// </summary>
    private static void AddPages(this IServiceCollection services)
    {
        services.AddRazorComponents();

        // Symbols (✓ ✗ ·) and non-Latin text stay readable in the page source; markup characters are still encoded.
        services.AddWebEncoders(options => options.TextEncoderSettings = new TextEncoderSettings(UnicodeRanges.All));

        // The renderer brings data protection along, for interactive components and antiforgery tokens that these pages
        // never use; left as it is, it writes a key ring under the user's profile at every start (with a warning).
        // Keys live in memory instead, and the hosted service that creates them at start is dropped.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        foreach (ServiceDescriptor keyRingStarter in services
            .Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Assembly == typeof(KeyManagementOptions).Assembly)
            .ToList())
        {
            services.Remove(keyRingStarter);
        }
    }

    /// <summary>Every page and endpoint: health, the dashboard, the JSON API.</summary>
    public static IEndpointRouteBuilder MapWeb(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealth();
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
