using CiRunner.Configuration;
using Docker.DotNet;

namespace CiRunner.Execution;

public static class ExecutionServiceCollectionExtensions
{
    /// <summary>The queue, the Docker executor and the dispatcher that connects them.</summary>
    public static IServiceCollection AddExecution(this IServiceCollection services, CiRunnerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton<IDockerClient>(_ => DockerClientFactory.Create(settings.Docker));
        services.AddSingleton<JobQueue>();
        services.AddSingleton<OrphanReaper>();
        services.AddSingleton<IJobExecutor, DockerJobExecutor>();
        services.AddSingleton<ModuleSetResolver>();
        services.AddSingleton<JobSpecFactory>();
        services.AddSingleton<JobRecorder>();
        services.AddSingleton<JobDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<JobDispatcher>());
        return services;
    }
}
