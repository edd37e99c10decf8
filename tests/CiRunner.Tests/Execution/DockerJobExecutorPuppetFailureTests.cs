using CiRunner.Execution;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>Puppet jobs that fail, on the real engine; a collection of their own, so they run beside the passing ones.</summary>
[Trait("Category", "Docker")]
[Collection(DockerPuppetFailuresGroup.Name)]
public sealed class DockerJobExecutorPuppetFailureTests : ExecutorTestBase
{
    public DockerJobExecutorPuppetFailureTests(DockerEngineFixture engine, ITestOutputHelper output)
        : base(engine, output)
    {
    }

    [Theory]
    [InlineData("class demo {\n  file { '/etc/x' content => 'x' }\n}\n", 1L, "Syntax error at 'content'")]
    [InlineData("class demo {\n  exec { '/bin/false': }\n}\n", 4L, "'/bin/false' returned 1 instead of one of [0]")]
    public async Task ExecuteAsync_FailingManifest_FailsWithPuppetsErrorInTheLogAndSummary(string initPp, long exitCode, string puppetError)
    {
        // Given a module whose manifest does not parse, or whose resource fails to apply
        string module = TestJobs.WriteModule(Folder, "demo", initPp);
        string manifest = Folder.Write("scenario/site.pp", "include demo\n");
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase(
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
        string module = TestJobs.WriteModule(Folder, "demo", "class demo {\n  file { '/etc/stamp': content => \"${Timestamp.new}\\n\" }\n}\n");
        string manifest = Folder.Write("scenario/site.pp", "include demo\n");
        JobSpec job = TestJobs.Job(Instance, Engine.PuppetImage, Folder, phases: TestJobs.Phase(
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
}
