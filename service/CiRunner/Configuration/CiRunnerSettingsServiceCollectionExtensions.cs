using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

public static class CiRunnerSettingsServiceCollectionExtensions
{
    /// <summary>
    /// Registers validated settings: <see cref="CiRunnerSettings"/>, <see cref="DataPaths"/>, and
    /// <c>IOptions&lt;T&gt;</c> for each section's options class. <see cref="ConfigurationLoader"/> bound and validated
    /// the settings before the host was built; each section's validator is registered too and runs again at start
    /// (<c>ValidateOnStart</c>), so a section changed after loading cannot slip past the rules.
    /// </summary>
    public static IServiceCollection AddCiRunnerSettings(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(settings);
        services.AddSingleton(settings.DataPaths);
        services.AddValidatedSection(settings.Service, new ServiceOptionsValidator());
        services.AddValidatedSection(settings.Docker, new DockerOptionsValidator());
        services.AddValidatedSection(settings.Schedule, new ScheduleOptionsValidator());
        services.AddValidatedSection(settings.Http, new HttpOptionsValidator());
        services.AddValidatedSection(settings.Retention, new RetentionOptionsValidator());
        services.AddValidatedSection(settings.Reporting, new ReportingOptionsValidator());
        services.AddValidatedSection(settings.Snapshots, new SnapshotOptionsValidator());
        services.AddValidatedSection(settings.Bisect, new BisectOptionsValidator());
        services.AddValidatedSection(settings.Flakes, new FlakeOptionsValidator());

        // The scenario files as they are now (reloaded as they change): what every run and job is made from.
        services.AddSingleton<ScenarioCatalog>();
        return services;
    }

    // IOptions<T> is the loaded instance itself (stages and tests compare it by reference), validated when first read.
    private static void AddValidatedSection<T>(this IServiceCollection services, T section, IValidateOptions<T> validator)
        where T : class
    {
        services.AddSingleton(validator);
        services.AddSingleton<IOptionsFactory<T>>(provider => new LoadedOptionsFactory<T>(section, provider.GetServices<IValidateOptions<T>>()));
        services.AddOptions<T>().ValidateOnStart();
    }

    private sealed class LoadedOptionsFactory<T>(T section, IEnumerable<IValidateOptions<T>> validators) : IOptionsFactory<T>
        where T : class
    {
        public T Create(string name)
        {
            string[] failures = [.. validators.Select(v => v.Validate(name, section)).Where(r => r.Failed).SelectMany(r => r.Failures ?? [])];
            return failures.Length == 0 ? section : throw new OptionsValidationException(name, typeof(T), failures);
        }
    }
}
