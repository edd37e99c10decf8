using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Execution;

/// <summary>
/// The probe the idle service asks the engine with, on the real engine: it answers a ping, and it lists exactly the
/// containers that carry every label asked for, running or not, with their labels and state as the engine reports them.
/// </summary>
[Collection(DockerPuppetGroup.Name)]
[Trait("Category", "Docker")]
public sealed class EngineProbeTests
{
    private readonly DockerEngineFixture _engine;
    private readonly string _instance = DockerEngineFixture.NewInstanceId();

    public EngineProbeTests(DockerEngineFixture engine)
    {
        _engine = engine;
    }

    [Fact]
    public async Task ListAsync_ContainersOfTheInstance_AllOfThemAndNoOther_WithLabelsAndState()
    {
        using var probe = new EngineProbe(new EngineOptions { Name = "default", Endpoint = _engine.Endpoint }, _engine.Docker);
        string created = await CreateAsync(_instance, job: "7");
        string running = await CreateAsync(_instance, job: "8");
        string other = await CreateAsync(DockerEngineFixture.NewInstanceId(), job: "9");
        try
        {
            await _engine.Docker.Containers.StartContainerAsync(running, new ContainerStartParameters());
            await probe.PingAsync(CancellationToken.None);

            IReadOnlyList<LabelledContainer> listed = await probe.ListAsync(
                [$"{ContainerLabels.Managed}={ContainerLabels.ManagedValue}", $"{ContainerLabels.Instance}={_instance}"], CancellationToken.None);

            Assert.Equal(
                [(created, "created", "7"), (running, "running", "8")],
                listed.Select(c => (c.Id, c.State, c.Labels[ContainerLabels.Job])).OrderBy(c => c.Item3, StringComparer.Ordinal));
            Assert.All(listed, c => Assert.Equal(_instance, c.Labels[ContainerLabels.Instance]));
            Assert.DoesNotContain(listed, c => c.Id == other);
        }
        finally
        {
            foreach (string id in new[] { created, running, other })
            {
                await _engine.Docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
            }
        }
    }

    private async Task<string> CreateAsync(string instance, string job) =>
        (await _engine.Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = _engine.PuppetImage,
            Entrypoint = ["sleep", "300"],
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
                [ContainerLabels.Instance] = instance,
                [ContainerLabels.Job] = job,
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        })).ID;
}
