using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

/// <summary>Recipe builds on the real engine, FROM the Puppet base image (no network needed).</summary>
[Trait("Category", "Docker")]
[Collection(DockerImagesGroup.Name)]
public sealed class ImageBuilderTests : IAsyncLifetime, IDisposable
{
    private readonly DockerEngineFixture _engine;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _folder = new();
    private readonly string _tag = $"cirunner/test-image:{Guid.NewGuid():N}";
    private readonly Dictionary<string, string> _args;

    public ImageBuilderTests(DockerEngineFixture engine, ITestOutputHelper output)
    {
        _engine = engine;
        _output = output;
        _args = new Dictionary<string, string> { [ReleaseImages.BaseImageArgument] = engine.PuppetImage };
    }

    [Fact]
    public async Task BuildAsync_Recipe_IsBuiltOnceAndAgainOnlyWhenItChanges()
    {
        // Given a recipe
        _folder.Write("recipe/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo one > /recipe.txt\n");
        var recipe = new ImageRecipe(_tag, _folder.Combine("recipe"), _args, "none", new Dictionary<string, string>());
        ImageBuilder builder = CreateBuilder();

        // When it is built, built again unchanged, then changed and built again
        ImageBuildOutcome first = await builder.BuildAsync(recipe, force: false, output: null, CancellationToken.None);
        ImageBuildOutcome again = await builder.BuildAsync(recipe, force: false, output: null, CancellationToken.None);
        _folder.Write("recipe/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo two > /recipe.txt\n");
        ImageBuildOutcome changed = await builder.BuildAsync(recipe, force: false, output: null, CancellationToken.None);

        // Then the unchanged recipe is skipped, and the image carries the changed recipe's hash
        Assert.True(first.Status == ImageBuildStatus.Built, first.Error);
        Assert.Equal((ImageBuildStatus.UpToDate, first.ImageId), (again.Status, again.ImageId));
        Assert.Equal(ImageBuildStatus.Built, changed.Status);
        Assert.NotEqual(first.RecipeHash, changed.RecipeHash);
        ImageInspectResponse image = await _engine.Docker.Images.InspectImageAsync(_tag);
        Assert.Equal(changed.RecipeHash, image.Config?.Labels?[ContainerLabels.RecipeHash]);
    }

    [Fact]
    public async Task BuildAsync_FailingRecipe_FailsWithTheBuildsErrorAndOutput()
    {
        // Given a recipe whose RUN step fails
        _folder.Write("recipe/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo cannot-build >&2 && false\n");
        var recipe = new ImageRecipe(_tag, _folder.Combine("recipe"), _args, "none", new Dictionary<string, string>());

        // When it is built
        ImageBuildOutcome outcome = await CreateBuilder().BuildAsync(recipe, force: false, output: null, CancellationToken.None);

        // Then the failure is a value with the engine's error and the step's output
        Assert.Equal(ImageBuildStatus.Failed, outcome.Status);
        Assert.Contains("returned a non-zero code", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("cannot-build", outcome.OutputTail);
    }

    [Fact]
    public async Task ExecuteAsync_ReleaseImageMissing_IsBuiltFromItsRecipeBeforeTheJobRuns()
    {
        // Given a configured release whose image does not exist yet, with a recipe
        _folder.Write("images/testrelease/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo testrelease > /etc/release-name\n");
        using ReleaseImages images = CreateReleaseImages(new ReleaseOptions { Name = "testrelease", Image = _tag });
        var executor = TestExecutors.Create(_engine.Docker, new TestOutputLogger<DockerJobExecutor>(_output), images);
        string instance = DockerEngineFixture.NewInstanceId();
        JobSpec job = TestJobs.Job(instance, _tag, _folder, release: "testrelease", phases:
            TestJobs.Phase("main", null, [], [], TestJobs.Command("release", "grep", "-qx", "testrelease", "/etc/release-name")));

        // When a job needs it
        JobOutcome outcome = await executor.ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then the image was built and the job ran on it
        Assert.True(outcome.Result == JobResult.Success, outcome.Summary);
        Assert.Contains("image build built", await File.ReadAllTextAsync(job.LogFilePath), StringComparison.Ordinal);
        Assert.Empty(await _engine.ContainersLeftAsync(instance));
    }

    [Fact]
    public async Task ExecuteAsync_ReleaseImageMissingAndItsBuildFails_IsAnErrorWithTheBuildsOutput()
    {
        // Given a configured release whose image is missing and whose recipe fails
        _folder.Write("images/broken/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo no-such-package >&2 && false\n");
        using ReleaseImages images = CreateReleaseImages(new ReleaseOptions { Name = "broken", Image = _tag });
        var executor = TestExecutors.Create(_engine.Docker, new TestOutputLogger<DockerJobExecutor>(_output), images);
        string instance = DockerEngineFixture.NewInstanceId();
        JobSpec job = TestJobs.Job(instance, _tag, _folder, release: "broken", phases: TestJobs.Phase("main", null, [], [], TestJobs.Command("never", "true")));

        // When a job needs it
        JobOutcome outcome = await executor.ExecuteAsync(job, new RecordingProgress(), CancellationToken.None);

        // Then the job is an error (not a failure) with the build's error, its output and the command to retry
        Assert.True(outcome.Result == JobResult.Error, outcome.Summary);
        Assert.Contains($"building image '{_tag}' failed", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("no-such-package", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("`cirunner images build --release broken`", outcome.Summary, StringComparison.Ordinal);
        Assert.Null(outcome.ContainerId);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            await _engine.Docker.Images.DeleteImageAsync(_tag, new ImageDeleteParameters { Force = true });
        }
        catch (DockerImageNotFoundException)
        {
            // The test never built it.
        }
    }

    public void Dispose() => _folder.Dispose();

    private ReleaseImages CreateReleaseImages(ReleaseOptions release) => new(
        [release],
        _folder.Combine("images"),
        CreateBuilder(),
        new BaseImageBuilder(_engine.Docker, TimeProvider.System, NullLogger<BaseImageBuilder>.Instance),
        BaseImageRecipe.ForSuite,
        new Dictionary<string, string>(),
        new PackageSnapshotBuilder(
            _engine.Docker,
            new DockerPackageSnapshots(_engine.Docker, TimeProvider.System, NullLogger<DockerPackageSnapshots>.Instance),
            TimeProvider.System,
            NullLogger<PackageSnapshotBuilder>.Instance));

    private ImageBuilder CreateBuilder() => new(_engine.Docker, TimeProvider.System, new TestOutputLogger<ImageBuilder>(_output));
}
