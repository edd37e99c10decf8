using System.CommandLine;
using System.Text.Json.Nodes;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// <c>cirunner replay</c> on the real engine: a job run by <c>cirunner run</c> from a real git repository, then replayed
/// from its lockfile alone after the scenario, the module's branch or the image changed.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class ReplayCommandTests : IAsyncLifetime, IDisposable
{
    private const string DemoModule = """
        class demo {
          file { '/etc/demo.conf':
            ensure  => file,
            content => "converged",
          }
        }
        """;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;

    /// <summary>An image of this test's own (the Puppet image with one more label): removing it touches no other test.</summary>
    private readonly string _image = $"cirunner-test/replay:{Guid.NewGuid():N}";

    private string _configFile = "";

    public ReplayCommandTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("work", "puppet-demo");
        GitRepositories.Create(_repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = DemoModule,
        });
    }

    public async Task InitializeAsync()
    {
        CreateContainerResponse created = await _engine.Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = _engine.PuppetImage,
            Cmd = ["true"],
            Labels = new Dictionary<string, string> { ["cirunner.test.instance"] = _instanceId },
        });
        try
        {
            await _engine.Docker.Images.CommitContainerChangesAsync(new CommitContainerChangesParameters
            {
                ContainerID = created.ID,
                RepositoryName = _image.Split(':')[0],
                Tag = _image.Split(':')[1],
                Labels = new Dictionary<string, string> { ["cirunner.test.replay"] = _instanceId },
            });
        }
        finally
        {
            await _engine.Docker.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true });
        }

        _configFile = WriteConfig();
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _engine.Docker.Images.DeleteImageAsync(_image, new ImageDeleteParameters { Force = true });
        }
        catch (Docker.DotNet.DockerImageNotFoundException)
        {
            // The test removed it already.
        }
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Replay_FailedJob_ReproducesItsResultAsAReplayRunLinkedToIt()
    {
        // Given a job that failed
        (int ran, string runOutput, string runError) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", "master", "--scenario", "fails");
        Assert.True(ran == 1, runOutput + runError);

        // When it is replayed
        (int exitCode, string output, string error) = await RunAsync("replay", "--config", _configFile, "1");

        // Then the replay fails as it did, says so, exits 0, and its run is a replay linked to the original
        Assert.True(exitCode == ReplayCommand.Matches, output + error);
        Assert.Contains("Run 2: replay of job 1 (zed/fails, failure)", output, StringComparison.Ordinal);
        Assert.Contains("Job 2: failure; matches: failure, as job 1", output, StringComparison.Ordinal);
        ResultsStore store = ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));
        RunRecord run = (await store.Runs.GetAsync(2, CancellationToken.None))!;
        JobRecord replay = (await store.Jobs.GetAsync(2, CancellationToken.None))!;
        JobRecord original = (await store.Jobs.GetAsync(1, CancellationToken.None))!;
        Assert.Equal((RunCause.Replay, 1L, original.ImageId), (run.Cause, replay.ReplayOf, replay.ImageId));
        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
    }

    [Fact]
    public async Task Replay_ScenarioAndBranchChangedSince_RunsTheStoredTextAndCommitAndStillPasses()
    {
        // Given a passing job, then a manifest that would fail and a module commit that would fail too
        (int ran, string runOutput, string runError) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", "master", "--scenario", "converges");
        Assert.True(ran == 0, runOutput + runError);
        _folder.Write("scenarios/converges.pp", "include nosuchclass\n");
        GitRepositories.Commit(_repository, new Dictionary<string, string> { ["manifests/init.pp"] = "class demo { fail('newer commit') }\n" }, "break demo");

        // When it is replayed
        (int exitCode, string output, string error) = await RunAsync("replay", "--config", _configFile, "1");

        // Then it runs what job 1 ran: the stored manifest text and the old commit, and passes as job 1 did
        Assert.True(exitCode == ReplayCommand.Matches, output + error);
        Assert.Contains("matches: success, as job 1", output, StringComparison.Ordinal);
        ResultsStore store = ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));
        JobLockfile original = (await store.Jobs.GetLockfileAsync(1, CancellationToken.None))!;
        JobLockfile replay = (await store.Jobs.GetLockfileAsync(2, CancellationToken.None))!;
        Assert.Equal(original.Modules.Select(m => m.CommitSha), replay.Modules.Select(m => m.CommitSha));
        Assert.Equal("include demo\n", replay.Files.Single(f => f.Role == ScenarioTextRole.Manifest).Text);
    }

    [Fact]
    public async Task Replay_ImageRemovedSince_ExitsTwoNamingTheImageAndHowToBringItBack()
    {
        // Given a job whose image was removed afterwards
        (int ran, string runOutput, string runError) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", "master", "--scenario", "converges");
        Assert.True(ran == 0, runOutput + runError);
        ResultsStore store = ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));
        string imageId = (await store.Jobs.GetAsync(1, CancellationToken.None))!.ImageId!;
        await _engine.Docker.Images.DeleteImageAsync(_image, new ImageDeleteParameters { Force = true });

        // When it is replayed
        (int exitCode, string output, string error) = await RunAsync("replay", "--config", _configFile, "1");

        // Then nothing newer stands in for it: the replay ends with one line naming the image and the way back
        Assert.True(exitCode == RunCommand.NothingRan, output + error);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Image {imageId} ({_image}) that job 1 ran is gone from the engine", line, StringComparison.Ordinal);
        Assert.Contains("docker load", line, StringComparison.Ordinal);
        Assert.Contains("cirunner images build --release zed", line, StringComparison.Ordinal);
        Assert.Equal(JobResult.Error, (await store.Jobs.GetAsync(2, CancellationToken.None))!.Result);
        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
    }

    private string WriteConfig()
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/converges.pp", "include demo\n");
        _folder.Write("scenarios/converges.yaml", """
            name: converges
            manifest: converges.pp
            modules: [demo]
            steps:
              - apply
              - type: command
                name: conf written
                command: [grep, -qx, converged, /etc/demo.conf]
            """);
        _folder.Write("scenarios/fails.pp", "include nosuchclass\n");
        _folder.Write("scenarios/fails.yaml", "name: fails\nmanifest: fails.pp\nmodules: [demo]\nsteps: [apply]\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master") }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("master"), ["Image"] = _image }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 1, ["MemoryMb"] = 512 },

            // A failed cell is replayed here, not re-run by the flake check: job ids below count on it.
            ["Flakes"] = new JsonObject { ["Reruns"] = 0 },
        };
        string configFile = _folder.Write("appsettings.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return configFile;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }
}
