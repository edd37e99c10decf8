using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary>
/// What the foreground verbs (<c>run</c>, <c>replay</c>, <c>bisect</c>) run jobs with, without the service: the store,
/// its schema brought up to date, and the execution stage.
/// </summary>
internal static class ForegroundServices
{
    public static async Task<ServiceProvider> StartAsync(CiRunnerSettings settings, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        services.AddCiRunnerSettings(settings);
        services.AddResultsStore(settings);
        services.AddExecution(settings);
        ServiceProvider provider = services.BuildServiceProvider();
        try
        {
            await provider.GetRequiredService<ResultsDatabase>().EnsureSchemaAsync(cancellationToken);
            return provider;
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }
}
