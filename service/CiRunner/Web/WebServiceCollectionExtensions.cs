using System.Text.Json.Serialization;
using CiRunner.Scheduling;

namespace CiRunner.Web;

public static class WebServiceCollectionExtensions
{
    /// <summary>What the dashboard and the API need beyond the stages: run control, log access, readable enums in JSON.</summary>
    public static IServiceCollection AddWeb(this IServiceCollection services)
    {
        services.AddSingleton<RunControl>();
        services.AddSingleton<JobLogs>();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        return services;
    }

    /// <summary>Every page and endpoint: health, the dashboard, the JSON API.</summary>
    public static IEndpointRouteBuilder MapWeb(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealth();
        endpoints.MapDashboard();
        endpoints.MapLogin();
        endpoints.MapApi();
        endpoints.MapRunsApi();
        endpoints.MapScenarios();
        return endpoints;
    }
}
