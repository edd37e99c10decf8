using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

public static class CiRunnerSettingsServiceCollectionExtensions
{
    /// <summary>
    /// Registers validated settings: <see cref="CiRunnerSettings"/>, <see cref="DataPaths"/>, and
    /// <c>IOptions&lt;T&gt;</c> for each section's options class. The settings were validated by
    /// <see cref="ConfigurationLoader"/> before the host was built, which is why nothing is bound or validated here.
    /// </summary>
    public static IServiceCollection AddCiRunnerSettings(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(settings);
        services.AddSingleton(settings.DataPaths);
        services.AddSingleton(Options.Create(settings.Service));
        services.AddSingleton(Options.Create(settings.Docker));
        services.AddSingleton(Options.Create(settings.Schedule));
        services.AddSingleton(Options.Create(settings.Http));
        services.AddSingleton(Options.Create(settings.Retention));
        services.AddSingleton(Options.Create(settings.Reporting));

        // The scenario files as they are now (reloaded as they change): what every run and job is made from.
        services.AddSingleton<ScenarioCatalog>();
        return services;
    }
}
