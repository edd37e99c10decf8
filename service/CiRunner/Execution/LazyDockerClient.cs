using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>
/// An engine client made at its first use. The service builds every engine's client when it starts, but while no job
/// runs it only pings and lists through <see cref="EngineProbe"/>: an idle service then never loads Docker.DotNet's
/// client and HTTP stack (bench/idle.sh).
/// </summary>
internal sealed class LazyDockerClient : IDockerClient
{
    private readonly Lazy<IDockerClient> _client;

    public LazyDockerClient(Func<IDockerClient> create)
    {
        _client = new Lazy<IDockerClient>(create, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public Docker.DotNet.Handler.Abstractions.ResolvedClientOptions Options => _client.Value.Options;

    public IConfigOperations Configs => _client.Value.Configs;

    public IContainerOperations Containers => _client.Value.Containers;

    public IDistributionOperations Distribution => _client.Value.Distribution;

    public IExecOperations Exec => _client.Value.Exec;

    public IImageOperations Images => _client.Value.Images;

    public INetworkOperations Networks => _client.Value.Networks;

    public IPluginOperations Plugin => _client.Value.Plugin;

    public ISecretsOperations Secrets => _client.Value.Secrets;

    public ISwarmOperations Swarm => _client.Value.Swarm;

    public ISystemOperations System => _client.Value.System;

    public ITasksOperations Tasks => _client.Value.Tasks;

    public IVolumeOperations Volumes => _client.Value.Volumes;

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
