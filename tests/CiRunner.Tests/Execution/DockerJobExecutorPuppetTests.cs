using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;

namespace CiRunner.Tests.Execution;

/// <summary>Puppet jobs on the real engine with the real Puppet image.</summary>
[Trait("Category", "Docker")]
[Collection(DockerPuppetGroup.Name)]
public sealed class DockerJobExecutorPuppetTests : ExecutorTestBase
{
    public DockerJobExecutorPuppetTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Fact]
    public async Task ExecuteAsync_PassingManifest_SucceedsAndStreamsEveryStepIntoTheLog()
    {
        // Given a module that manages a file, and a scenario that includes it
        string module = TestJobs.WriteModule(Folder, "demo", "class demo {\n  file { '/etc/demo.conf': content => \"ok\\n\" }\n}\n");
        string manifest = Folder.Write("scenario/site.pp", "include demo\n");
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase(
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
        Assert.Equal(Engine.PuppetImageId, outcome.ImageId);
        Assert.NotNull(outcome.ContainerId);
        Assert.Contains("== step 1/3 deploy/apply (apply", log, StringComparison.Ordinal);
        Assert.Contains("out Notice: /Stage[main]/Demo/File[/etc/demo.conf]/ensure: defined content", log, StringComparison.Ordinal);
        Assert.Contains("== step 3/3 deploy/check: success, exit 0", log, StringComparison.Ordinal);
        Assert.Equal(
            [$"container {Engine.PuppetImageId}", "started deploy/apply", "finished deploy/apply Success", "started deploy/idempotency",
             "finished deploy/idempotency Success", "started deploy/check", "finished deploy/check Success"],
            progress.Events);
        await AssertNoContainerLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_Phases_ReplaceTheModuleSetWithEachPhasesCommit()
    {
        // Given a module repository with a v1 and a v2 commit, and a deploy phase that also brings an extra module
        string repository = Folder.Combine("puppet-demo");
        Repository.Init(repository);
        Folder.Write("puppet-demo/metadata.json", TestJobs.Metadata("demo"));
        Folder.Write("puppet-demo/manifests/init.pp", "class demo {\n  file { '/etc/demo-version': content => \"v1\\n\" }\n}\n");
        string v1 = Commit(repository, "v1");
        Folder.Write("puppet-demo/manifests/init.pp", "class demo {\n  file { '/etc/demo-version': content => \"v2\\n\" }\n}\n");
        string v2 = Commit(repository, "v2");
        string extra = TestJobs.WriteModule(Folder, "extra", "class extra { }\n");
        string manifest = Folder.Write("scenario/site.pp", "include demo\n");
        var scenario = new ScenarioFile("site.pp", manifest);
        JobSpec job = TestJobs.Job(
            Instance,
            Engine.PuppetImage,
            Folder,
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

    private static string Commit(string repository, string message)
    {
        var author = new Signature("CiRunner Tests", "tests@example.invalid", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var repo = new Repository(repository);
        Commands.Stage(repo, "*");
        return repo.Commit(message, author, author).Sha;
    }
}
