using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.EndToEnd;

/// <summary><c>cirunner run</c> on the real engine: no service, the same database, executor and recorder.</summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class RunCommandTests : IDisposable
{
    private const string DemoModule = """
        class demo {
          file { '/etc/demo.conf':
            ensure  => file,
            content => "converged ${facts['demo_fact']}",
          }
        }
        """;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly string _configFile;

    public RunCommandTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("work", "puppet-demo");
        GitRepositories.Create(_repository, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = DemoModule,
            ["facts.d/demo.txt"] = "demo_fact=from-facts-d\n",
        });
        _configFile = WriteConfig();
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_PassingCell_ExitsZeroAndStoresAManualRun()
    {
        (int exitCode, string output, string error) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", "master", "--scenario", "converges");

        Assert.True(exitCode == 0, output + error);
        Assert.Matches(@"job 1  zed/converges  queued", output);
        Assert.Matches(@"job 1  zed/converges  running", output);
        Assert.Matches(@"job 1  zed/converges  success in \d", output);
        Assert.Contains("1/1 cells passed; details: cirunner show 1", output, StringComparison.Ordinal);
        ResultsStore store = ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));
        RunRecord run = (await store.Runs.GetAsync(1, CancellationToken.None))!;
        Assert.Equal((RunCause.Manual, JobResult.Success), (run.Cause, run.Result));
        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
    }

    [Fact]
    public async Task Run_OneCellFails_ExitsOneWithTheSummary()
    {
        (int exitCode, string output, _) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", "master");

        Assert.Equal(1, exitCode);
        Assert.Matches(@"zed/converges\s+success", output);
        Assert.Matches(@"zed/fails\s+failure", output);
        Assert.Contains("1/2 cells passed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_LocalPathWithUncommittedChange_RunsTheWorkingCopy()
    {
        File.WriteAllText(Path.Combine(_repository, "manifests", "init.pp"), DemoModule.Replace("converged", "uncommitted", StringComparison.Ordinal));

        (int exitCode, string output, _) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", _repository, "--scenario", "converges");

        // The committed module passes (see above); the working copy writes other content, which the scenario's check refuses.
        Assert.Equal(1, exitCode);
        Assert.Contains($"working copy {_repository}", output, StringComparison.Ordinal);
        ResultsStore store = ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));
        JobDetail job = (await store.Jobs.GetDetailAsync(1, CancellationToken.None))!;
        Assert.Contains("uncommitted from-facts-d", await File.ReadAllTextAsync(job.Job.LogPath!), StringComparison.Ordinal);
        JobModuleRecord locked = Assert.Single(job.Modules);
        Assert.Equal((_repository, "working copy"), (locked.GitUrl, locked.Ref));
    }

    [Fact]
    public async Task Run_UnknownRef_ExitsTwoNamingIt()
    {
        (int exitCode, _, string error) = await RunAsync("run", "--config", _configFile, "--module", "demo", "--ref", "no-such-branch");

        Assert.Equal(RunCommand.NothingRan, exitCode);
        Assert.Contains("'no-such-branch' is neither a branch nor a commit of demo", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_CtrlCWhileACellRuns_CancelsItRemovesItsContainerAndExits130()
    {
        // Given a cirunner run process whose cell holds its container in a long step
        _folder.Write("scenarios/slow.yaml", """
            name: slow
            manifest: converges.pp
            modules: [demo]
            steps:
              - type: command
                name: hold
                command: [sh, -c, "echo holding; sleep 300"]
            """);
        // Through env --default-signal=INT: a test run started in the background (`.ci/run &`) ignores SIGINT, every child
        // inherits that, and .NET keeps an ignored SIGINT ignored, as a terminal's Ctrl+C never reaches a background job.
        var start = new ProcessStartInfo("/usr/bin/env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--default-signal=INT", Path.Combine(AppContext.BaseDirectory, "cirunner"), "run", "--config", _configFile, "--module", "demo", "--ref", "master", "--scenario", "slow" })
        {
            start.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var error = new StringBuilder();
        using Process process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (error) { error.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // When the step is under way and the process gets SIGINT, as a terminal's Ctrl+C sends it
            ResultsStore store = ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));
            await Eventually.ForAsync(
                "the step to start",
                async () => !process.HasExited && (await store.Jobs.GetAsync(1, CancellationToken.None))?.LogPath is { } log && File.Exists(log)
                    && (await ReadSharedAsync(log)).Contains("out holding", StringComparison.Ordinal),
                TimeSpan.FromMinutes(2), () => $"{output}\n{error}");
            using (Process kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            // Generous, for a 2-core machine busy with the real OpenStack tests; when it fails, the output says why.
            using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            try
            {
                await process.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"cirunner run did not exit within 5 minutes of SIGINT\n{output}\n{error}");
            }

            // Then it exits 130 after its summary, the job and run are stored cancelled, and no container is left
            Assert.True(process.ExitCode == RunCommand.Cancelled, $"exit {process.ExitCode}\n{output}\n{error}");
            Assert.Contains("0/1 cells passed", output.ToString(), StringComparison.Ordinal);
            Assert.Matches(@"1\s+zed/slow\s+cancelled", output.ToString());
            Assert.Contains("Cancelled by Ctrl+C: 1 of 1 cells cancelled.", error.ToString(), StringComparison.Ordinal);
            JobRecord job = (await store.Jobs.GetAsync(1, CancellationToken.None))!;
            Assert.Equal((JobState.Finished, JobResult.Cancelled), (job.State, job.Result));
            Assert.Equal(JobResult.Cancelled, (await store.Runs.GetAsync(1, CancellationToken.None))!.Result);
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            foreach (Docker.DotNet.Models.ContainerListResponse left in await _engine.ContainersOfInstanceAsync(_instanceId))
            {
                try
                {
                    await _engine.Docker.Containers.RemoveContainerAsync(left.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
                }
                catch (Docker.DotNet.DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
                {
                    // Its removal is already under way; an exception here would hide the assertion that failed above.
                }
            }
        }
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
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
                name: show conf
                command: [cat, /etc/demo.conf]
              - type: command
                name: conf written
                command: [grep, -qx, converged from-facts-d, /etc/demo.conf]
            """);
        _folder.Write("scenarios/fails.pp", "include nosuchclass\n");
        _folder.Write("scenarios/fails.yaml", "name: fails\nmanifest: fails.pp\nmodules: [demo]\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master") }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 2, ["MemoryMb"] = 512 },
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
