using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;

namespace CiRunner.Tests.Execution;

/// <summary>Puppet jobs on the real engine with the real Puppet image.</summary>
[Collection(DockerPuppetGroup.Name)]
public sealed class DockerJobExecutorPuppetTests : IDisposable
{
    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _folder = new();
    private readonly string _instance = DockerEngineFixture.NewInstanceId();

    public DockerJobExecutorPuppetTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
    }

    [Fact]
    public async Task ExecuteAsync_PassingManifest_SucceedsAndStreamsEveryStepIntoTheLog()
    {
        // Given a module that manages a file, and a scenario that includes it
        string module = TestJobs.WriteModule(_folder, "demo", "class demo {\n  file { '/etc/demo.conf': content => \"ok\\n\" }\n}\n");
        string manifest = _folder.Write("scenario/site.pp", "include demo\n");
        JobSpec job = TestJobs.Job(_instance, _engine.PuppetImage, _folder, phases: TestJobs.Phase(
            "deploy",
            "site.pp",
            [new DirectoryModuleSource("demo", module)],
            [new ScenarioFile("site.pp", manifest)],
            TestJobs.Apply(),
            TestJobs.Idempotency(),
            TestJobs.Command("check", "grep", "-qx", "ok", "/etc/demo.conf")));
        var progress = new RecordingProgress();

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, progress, CancellationToken.None);

        // Then every step passed, with Puppet's exit codes, and the log shows each step's boundaries and output
        string log = await ReadLogAsync(job);
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + log);
        Assert.Equal([(JobResult.Success, 2L), (JobResult.Success, 0L), (JobResult.Success, 0L)], outcome.Steps.Select(s => (s.Result, s.ExitCode ?? -1)));
        Assert.Equal(_engine.PuppetImageId, outcome.ImageId);
        Assert.NotNull(outcome.ContainerId);
        Assert.Contains("== step 1/3 deploy/apply (apply", log, StringComparison.Ordinal);
        Assert.Contains("out Notice: /Stage[main]/Demo/File[/etc/demo.conf]/ensure: defined content", log, StringComparison.Ordinal);
        Assert.Contains("== step 3/3 deploy/check: success, exit 0", log, StringComparison.Ordinal);
        Assert.Equal(
            [$"container {_engine.PuppetImageId}", "started deploy/apply", "finished deploy/apply Success", "started deploy/idempotency",
             "finished deploy/idempotency Success", "started deploy/check", "finished deploy/check Success"],
            progress.Events);
        await AssertNoContainerLeftAsync();
    }

    [Theory]
    [InlineData("class demo {\n  file { '/etc/x' content => 'x' }\n}\n", 1L, "Syntax error at 'content'")]
    [InlineData("class demo {\n  exec { '/bin/false': }\n}\n", 4L, "'/bin/false' returned 1 instead of one of [0]")]
    public async Task ExecuteAsync_FailingManifest_FailsWithPuppetsErrorInTheLogAndSummary(string initPp, long exitCode, string puppetError)
    {
        // Given a module whose manifest does not parse, or whose resource fails to apply
        string module = TestJobs.WriteModule(_folder, "demo", initPp);
        string manifest = _folder.Write("scenario/site.pp", "include demo\n");
        JobSpec job = TestJobs.Job(_instance, _engine.PuppetImage, _folder, phases: TestJobs.Phase(
            "deploy", "site.pp", [new DirectoryModuleSource("demo", module)], [new ScenarioFile("site.pp", manifest)], TestJobs.Apply(), TestJobs.Idempotency()));

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then it is a test failure (not an error) at the apply step, the rest is skipped, and Puppet's words are kept
        string log = await ReadLogAsync(job);
        Assert.True(outcome.Result == JobResult.Failure, outcome.Summary + "\n" + log);
        Assert.Equal((JobResult.Failure, exitCode), (outcome.Steps[0].Result, outcome.Steps[0].ExitCode!.Value));
        Assert.Equal(JobResult.Skipped, outcome.Steps[1].Result);
        Assert.Contains(puppetError, log, StringComparison.Ordinal);
        Assert.Contains("err Error:", log, StringComparison.Ordinal);
        Assert.Contains(puppetError, outcome.Summary, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_NonIdempotentManifest_FailsAndNamesTheChangedResourceAndItsModule()
    {
        // Given a module that writes a new timestamp on every run
        string module = TestJobs.WriteModule(_folder, "demo", "class demo {\n  file { '/etc/stamp': content => \"${Timestamp.new}\\n\" }\n}\n");
        string manifest = _folder.Write("scenario/site.pp", "include demo\n");
        JobSpec job = TestJobs.Job(_instance, _engine.PuppetImage, _folder, phases: TestJobs.Phase(
            "deploy", "site.pp", [new DirectoryModuleSource("demo", module)], [new ScenarioFile("site.pp", manifest)], TestJobs.Apply(), TestJobs.Idempotency()));
        var progress = new RecordingProgress();

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, progress, CancellationToken.None);

        // Then the second apply fails, and the changed resource is read from Puppet's report
        Assert.True(outcome.Result == JobResult.Failure, outcome.Summary + "\n" + await ReadLogAsync(job));
        Assert.Equal((JobResult.Failure, 2L), (outcome.Steps[1].Result, outcome.Steps[1].ExitCode!.Value));
        IdempotencyChange change = Assert.Single(outcome.Changes);
        Assert.Equal(("File", "/etc/stamp", "content", "demo"), (change.ResourceType, change.Title, change.Property, change.Module));
        Assert.StartsWith("{sha256}", change.OldValue, StringComparison.Ordinal);
        Assert.StartsWith("{sha256}", change.NewValue, StringComparison.Ordinal);
        Assert.NotEqual(change.OldValue, change.NewValue);
        Assert.Equal(outcome.Changes, progress.Changes);
        Assert.Contains("File[/etc/stamp] content", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("(module demo)", outcome.Summary, StringComparison.Ordinal);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_Phases_ReplaceTheModuleSetWithEachPhasesCommit()
    {
        // Given a module repository with a v1 and a v2 commit, and a deploy phase that also brings an extra module
        string repository = _folder.Combine("puppet-demo");
        Repository.Init(repository);
        _folder.Write("puppet-demo/metadata.json", TestJobs.Metadata("demo"));
        _folder.Write("puppet-demo/manifests/init.pp", "class demo {\n  file { '/etc/demo-version': content => \"v1\\n\" }\n}\n");
        string v1 = Commit(repository, "v1");
        _folder.Write("puppet-demo/manifests/init.pp", "class demo {\n  file { '/etc/demo-version': content => \"v2\\n\" }\n}\n");
        string v2 = Commit(repository, "v2");
        string extra = TestJobs.WriteModule(_folder, "extra", "class extra { }\n");
        string manifest = _folder.Write("scenario/site.pp", "include demo\n");
        var scenario = new ScenarioFile("site.pp", manifest);
        JobSpec job = TestJobs.Job(
            _instance,
            _engine.PuppetImage,
            _folder,
            phases:
            [
                TestJobs.Phase("deploy", "site.pp", [new GitModuleSource("demo", repository, v1), new DirectoryModuleSource("extra", extra)], [scenario],
                    TestJobs.Apply(), TestJobs.Command("deployed v1", "grep", "-qx", "v1", "/etc/demo-version")),
                TestJobs.Phase("upgrade", "site.pp", [new GitModuleSource("demo", repository, v2)], [scenario],
                    TestJobs.Apply(), TestJobs.Command("upgraded to v2", "grep", "-qx", "v2", "/etc/demo-version"),
                    TestJobs.Command("previous set gone", "test", "!", "-e", "/cirunner/modules/extra")),
            ]);

        // When it runs
        JobOutcome outcome = await CreateExecutor().ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then both phases ran in one container, each with its own module set
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary + "\n" + await ReadLogAsync(job));
        Assert.Equal(["deploy", "deploy", "upgrade", "upgrade", "upgrade"], outcome.Steps.Select(s => s.Phase));
        await AssertNoContainerLeftAsync();
    }

    public void Dispose() => _folder.Dispose();

    private DockerJobExecutor CreateExecutor() =>
        new(_engine.Docker, TimeProvider.System, new TestOutputLogger<DockerJobExecutor>(_output));

    private async Task<string> ReadLogAsync(JobSpec job)
    {
        string log = await File.ReadAllTextAsync(job.LogFilePath);
        _output.WriteLine(log);
        return log;
    }

    private async Task AssertNoContainerLeftAsync() => Assert.Empty(await _engine.ContainersLeftAsync(_instance));

    private static string Commit(string repository, string message)
    {
        var author = new Signature("CiRunner Tests", "tests@example.invalid", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var repo = new Repository(repository);
        Commands.Stage(repo, "*");
        return repo.Commit(message, author, author).Sha;
    }
}
