using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// Bisect on the real engine with real git repositories: a module with 20 commits on <c>stable/x</c> after a good
/// one, where commit 13 breaks the cell. <c>cirunner bisect</c> and the service's automatic bisect (after
/// <c>cirunner run</c> turned the cell red) both name commit 13; a dependency that moved names the dependency; a red
/// that came from outside the lockfile ends as not reproducible.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerServiceGroup.Name)]
public sealed class BisectTests : IDisposable
{
    private const string Branch = "stable/x";

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly string _dependency;

    /// <summary>Commit i of the module's branch: 0 is the good one, 13 the first bad one, 20 the head.</summary>
    private readonly List<string> _commits = [];

    public BisectTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("work", "puppet-demo");
        _dependency = _folder.Combine("work", "puppet-dep");
        _commits.Add(GitRepositories.Create(_repository, Branch, new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {\n  file { '/etc/demo.conf': ensure => file, content => 'converged' }\n}\n",
            ["manifests/withdep.pp"] = "class demo::withdep {\n  include dep\n}\n",
        }));
        for (int i = 1; i <= 20; i++)
        {
            var files = new Dictionary<string, string> { [$"notes/{i}.txt"] = $"change {i}\n" };
            if (i == 13)
            {
                files["manifests/init.pp"] = "class demo {\n  fail('commit 13 broke demo')\n}\n";
            }

            _commits.Add(GitRepositories.Commit(_repository, files, i == 13 ? "Break demo" : $"Change {i}"));
        }

        GitRepositories.Create(_dependency, "master", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("dep"),
            ["manifests/init.pp"] = "class dep {\n  notify { 'dep': }\n}\n",
        });
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task BisectCommand_CommitThirteenOfTwentyBreaksTheCell_NamesItWithinSixJobs()
    {
        string config = WriteConfig(retries: 0);

        (int exitCode, string output, string error) = await CliAsync("bisect", "--config", config, "--module", "demo", "--scenario", "converges", "--release", "zed",
            "--good", _commits[0], "--bad", _commits[20]);

        Assert.True(exitCode == BisectCommand.CulpritFound, output + error);
        Assert.Contains($"first bad commit of demo: {Short(13)} \"Break demo\" by", output, StringComparison.Ordinal);
        BisectDetail bisect = await OnlyBisectAsync();
        Assert.Equal((BisectVerdict.Culprit, _commits[13]), (bisect.Bisect.Verdict, bisect.Bisect.CulpritSha));
        Assert.InRange(bisect.Steps.Count, 1, 6);
        Assert.Contains($"; {bisect.Steps.Count} jobs; details: cirunner show", output, StringComparison.Ordinal);

        // Each step ran the commit it names, and nothing else moved: the lockfiles differ in demo's commit only.
        ResultsStore store = Store();
        foreach (BisectStepRecord step in bisect.Steps)
        {
            JobLockfile lockfile = (await store.Jobs.GetLockfileAsync(step.JobId, CancellationToken.None))!;
            Assert.Equal(step.Sha, lockfile.Modules.Single(m => m.Module == "demo").CommitSha);
            Assert.Equal(step.Position >= 13 ? JobResult.Failure : JobResult.Success, step.Result);
        }

        // A bisect's steps are not the branch's verdict: the matrix has no cell from them.
        Assert.Empty(await store.Cells.ListAllAsync(CancellationToken.None));
        Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
    }

    [Fact]
    public async Task Service_CellTurnsRedTwentyCommitsLater_BisectsOnItsOwnAndEverySurfaceNamesCommit13()
    {
        string config = WriteConfig(retries: 0);
        await using WebhookReceiver webhook = await WebhookReceiver.StartAsync("bisect-secret");
        string secretVariable = $"CIRUNNER_TEST_BISECT_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(secretVariable, webhook.Secret);
        config = WriteConfig(retries: 0, webhook: (webhook.Url, secretVariable));
        try
        {
            // Given the cell green at commit 0 and red at commit 20
            Assert.Equal(0, (await CliAsync("run", "--config", config, "--module", "demo", "--ref", _commits[0], "--release", "zed", "--scenario", "converges")).ExitCode);
            Assert.Equal(1, (await CliAsync("run", "--config", config, "--module", "demo", "--ref", _commits[20], "--release", "zed", "--scenario", "converges")).ExitCode);

            // When the service runs (until the bisect run's webhook has come, too)
            WebhookDelivery? delivery = null;
            (BisectDetail bisect, string page, JsonElement run, string show) = await ServeUntilBisectedAsync(config, redRunId: 2, async () =>
                delivery = await Eventually.ForAsync(
                    "the bisect run's webhook",
                    () => Task.FromResult(webhook.Deliveries.FirstOrDefault(d => d.Body.Contains("\"cause\":\"bisect\"", StringComparison.Ordinal))),
                    TimeSpan.FromSeconds(60)));

            // Then it searched demo's 20 commits from the red job (job 3: job 2 failed and its flake re-run on the same
            // lockfile failed too, Flakes:Reruns) and named commit 13, within 6 jobs
            Assert.Equal((BisectVerdict.Culprit, _commits[13], "demo", 3L, 1L), (bisect.Bisect.Verdict, bisect.Bisect.CulpritSha, bisect.Bisect.TargetModule, bisect.Bisect.BadJobId, bisect.Bisect.GoodJobId));
            Assert.InRange(bisect.Steps.Count, 1, 6);
            Assert.Equal(20, bisect.Commits.Count - 1);

            // and the dashboard's cell, the red run in the API and in show, and the bisect run's webhook all say so
            Assert.Contains($"first bad: {Short(13)}", page, StringComparison.Ordinal);
            Assert.Contains($"turned its cell red: first bad commit of demo: {Short(13)} &quot;Break demo&quot;", page, StringComparison.Ordinal);
            Assert.Contains($"<dd id=\"bisect-culprit\"><code>{_commits[13]}</code> “Break demo”", page, StringComparison.Ordinal);
            JsonElement verdict = run.GetProperty("bisects")[0];
            Assert.Equal(("culprit", _commits[13], "Break demo"), (verdict.GetProperty("verdict").GetString(), verdict.GetProperty("culprit").GetProperty("sha").GetString(), verdict.GetProperty("culprit").GetProperty("subject").GetString()));
            Assert.Contains($"Bisect:     job 3: first bad commit of demo: {Short(13)} \"Break demo\"", show, StringComparison.Ordinal);
            using JsonDocument body = JsonDocument.Parse(delivery!.Body);
            Assert.Equal(_commits[13], body.RootElement.GetProperty("bisect").GetProperty("culprit").GetProperty("sha").GetString());
            Assert.True(delivery.SignatureValid);
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            Environment.SetEnvironmentVariable(secretVariable, null);
        }
    }

    [Fact]
    public async Task Service_DependencyMovedWhileModuleDidNot_NamesTheDependencyAndItsCommit()
    {
        string config = WriteConfig(retries: 0);
        Assert.Equal(0, (await CliAsync("run", "--config", config, "--module", "demo", "--ref", _commits[0], "--release", "zed", "--scenario", "withdep")).ExitCode);
        GitRepositories.Commit(_dependency, new Dictionary<string, string> { ["README"] = "one\n" }, "Document dep");
        string bad = GitRepositories.Commit(_dependency, new Dictionary<string, string> { ["manifests/init.pp"] = "class dep {\n  fail('dep broke')\n}\n" }, "Break dep");
        GitRepositories.Commit(_dependency, new Dictionary<string, string> { ["README"] = "three\n" }, "Document dep again");
        Assert.Equal(1, (await CliAsync("run", "--config", config, "--module", "demo", "--ref", _commits[0], "--release", "zed", "--scenario", "withdep")).ExitCode);

        (BisectDetail bisect, _, JsonElement run, string show) = await ServeUntilBisectedAsync(config, redRunId: 2);

        Assert.Equal((BisectVerdict.Culprit, "dep", bad, "Break dep"), (bisect.Bisect.Verdict, bisect.Bisect.TargetModule, bisect.Bisect.CulpritSha, bisect.Bisect.CulpritSubject));
        Assert.True(run.GetProperty("bisects")[0].GetProperty("dependency").GetBoolean());
        Assert.Contains($"first bad commit of dep: {bad[..10]}", show, StringComparison.Ordinal);

        // demo stayed at the red job's commit in every step; only dep moved
        ResultsStore store = Store();
        foreach (BisectStepRecord step in bisect.Steps)
        {
            JobLockfile lockfile = (await store.Jobs.GetLockfileAsync(step.JobId, CancellationToken.None))!;
            Assert.Equal((_commits[0], step.Sha), (lockfile.Modules.Single(m => m.Module == "demo").CommitSha, lockfile.Modules.Single(m => m.Module == "dep").CommitSha));
        }
    }

    [Fact]
    public async Task Service_RedDoesNotComeBackAtTheBadCommit_EndsNotReproducible()
    {
        // Given a green cell at commit 0, then a red at commit 2 that came from the job timeout of that day's configuration
        string config = WriteConfig(retries: 0);
        Assert.Equal(0, (await CliAsync("run", "--config", config, "--module", "demo", "--ref", _commits[0], "--release", "zed", "--scenario", "slow")).ExitCode);
        string hurried = WriteConfig(retries: 0, jobTimeout: "2s");
        Assert.Equal(1, (await CliAsync("run", "--config", hurried, "--module", "demo", "--ref", _commits[2], "--release", "zed", "--scenario", "slow")).ExitCode);

        // When the service bisects it with today's (ample) timeout
        (BisectDetail bisect, _, _, string show) = await ServeUntilBisectedAsync(config, redRunId: 2);

        // Then the red commit passes when run again: the search stops there, blaming no commit
        Assert.Equal(BisectVerdict.NotReproducible, bisect.Bisect.Verdict);
        Assert.Null(bisect.Bisect.CulpritSha);
        Assert.Equal(JobResult.Success, Assert.Single(bisect.Steps).Result);
        Assert.Contains($"notreproducible: the bad commit {Short(2)} passed when run again", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BisectCommand_BadInput_OneLineNamingTheOptionAndExitTwo()
    {
        string config = WriteConfig(retries: 0);

        (int unknownCommit, _, string unknownError) = await CliAsync("bisect", "--config", config, "--module", "demo", "--scenario", "converges", "--release", "zed", "--good", "0000000000", "--bad", _commits[20]);
        (int reversed, _, string reversedError) = await CliAsync("bisect", "--config", config, "--module", "demo", "--scenario", "converges", "--release", "zed", "--good", _commits[20], "--bad", _commits[0]);
        (int noFrom, _, string noFromError) = await CliAsync("bisect", "--config", config, "--module", "demo", "--scenario", "converges", "--release", "zed", "--kind", "upgrade", "--good", _commits[0], "--bad", _commits[20]);

        Assert.Equal((RunCommand.NothingRan, RunCommand.NothingRan, RunCommand.NothingRan), (unknownCommit, reversed, noFrom));
        Assert.StartsWith("--good/--bad: Commits 0000000000 and", Assert.Single(Lines(unknownError)), StringComparison.Ordinal);
        Assert.Contains("is not a first-parent ancestor of", Assert.Single(Lines(reversedError)), StringComparison.Ordinal);
        Assert.StartsWith("--from-release: an upgrade cell needs", Assert.Single(Lines(noFromError)), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "data", "cirunner.db")) && (await Store().Runs.ListRecentAsync(null, null, 10, CancellationToken.None)).Count > 0);
    }

    /// <summary>
    /// Serves until the red run's bisect has a verdict; returns it with the pages (the dashboard, the red run's, the
    /// bisect run's), the red run's API body and <c>show</c> of it.
    /// </summary>
    private async Task<(BisectDetail Bisect, string Dashboard, JsonElement Run, string Show)> ServeUntilBisectedAsync(string config, long redRunId, Func<Task>? alsoAwait = null)
    {
        int port = FreePort.Next();
        string serving = WriteConfig(config, port);
        using var stop = new CancellationTokenSource();
        var log = new StringWriter();
        Task<int> serve = InProcessServe.InvokeAsync(["serve", "--config", serving], new StringWriter(), log, stop.Token);
        try
        {
            await InProcessServe.WaitForHealthAsync(port, serve);
            ResultsStore store = Store();
            BisectDetail bisect = await Eventually.ForAsync(
                "the bisect's verdict",
                async () =>
                {
                    IReadOnlyList<BisectRecord> bisects = await store.Bisects.ListAsync(null, null, 10, CancellationToken.None);
                    return bisects.Count == 1 && bisects[0].Finished ? await store.Bisects.GetDetailAsync(bisects[0].Id, CancellationToken.None) : null;
                },
                TimeSpan.FromMinutes(4),
                () => log.ToString());
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            string dashboard = await client.GetStringAsync(new Uri("/", UriKind.Relative))
                + await client.GetStringAsync(new Uri($"/runs/{redRunId}", UriKind.Relative))
                + await client.GetStringAsync(new Uri($"/runs/{bisect.Bisect.RunId}", UriKind.Relative));
            using JsonDocument run = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/runs/{redRunId}", UriKind.Relative)));
            var show = new StringWriter();
            await ShowCommand.WriteAsync(store, new DataPaths(Path.Combine(_folder.Path, "data")), redRunId, show, show, CancellationToken.None);
            if (alsoAwait is not null)
            {
                await alsoAwait();
            }

            return (bisect, dashboard, run.RootElement.Clone(), show.ToString());
        }
        finally
        {
            await stop.CancelAsync();
            await serve;
        }
    }

    private async Task<BisectDetail> OnlyBisectAsync()
    {
        ResultsStore store = Store();
        BisectRecord only = Assert.Single(await store.Bisects.ListAsync(null, null, 10, CancellationToken.None));
        return (await store.Bisects.GetDetailAsync(only.Id, CancellationToken.None))!;
    }

    private ResultsStore Store() => ResultsStore.Open(Path.Combine(_folder.Path, "data", "cirunner.db"));

    private string Short(int commit) => _commits[commit][..10];

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private string WriteConfig(int retries, (Uri Url, string SecretVariable)? webhook = null, string? jobTimeout = null)
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => '{Branch}'\n\nmod 'dep',\n  :git => '{_dependency}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/converges.pp", "include demo\n");
        _folder.Write("scenarios/converges.yaml", "name: converges\nmanifest: converges.pp\nmodules: [demo]\nsteps: [apply]\n");
        _folder.Write("scenarios/withdep.pp", "include demo::withdep\n");
        _folder.Write("scenarios/withdep.yaml", "name: withdep\nmanifest: withdep.pp\nmodules: [demo, dep]\nsteps: [apply]\n");
        _folder.Write("scenarios/slow.pp", "include demo\n");
        _folder.Write("scenarios/slow.yaml", "name: slow\nmanifest: slow.pp\nmodules: [demo]\nsteps:\n  - type: command\n    name: slow\n    command: [sleep, '6']\n");
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray(Branch) }),
            ["Releases"] = new JsonArray(new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray(Branch), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 1, ["MemoryMb"] = 512, ["JobTimeout"] = jobTimeout ?? "5m" },
            ["Bisect"] = new JsonObject { ["Retries"] = retries },
            ["Schedule"] = new JsonObject { ["PollInterval"] = "1h" },
        };
        if (webhook is { } hook)
        {
            config["Reporting"] = new JsonObject
            {
                ["Webhooks"] = new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = hook.Url.ToString(), ["SecretVariable"] = hook.SecretVariable }),
            };
        }

        string configFile = _folder.Write(jobTimeout is null ? "appsettings.json" : "hurried.json", config.ToJsonString());
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(configFile);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return configFile;
    }

    /// <summary>The configuration with the service's HTTP listener on <paramref name="port"/>.</summary>
    private string WriteConfig(string configFile, int port)
    {
        JsonObject config = JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        config["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{port}" };
        return _folder.Write("serve.json", config.ToJsonString());
    }

    private static async Task<(int ExitCode, string Output, string Error)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }
}
