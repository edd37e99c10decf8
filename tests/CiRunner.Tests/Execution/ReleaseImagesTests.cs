using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Tests.Execution;

public sealed class ReleaseImagesTests : IDisposable
{
    private readonly TempDirectory _recipes = new();

    public void Dispose() => _recipes.Dispose();

    [Fact]
    public void RecipeFor_ReleaseWithItsOwnFolder_UsesIt()
    {
        _recipes.Write("zed/Dockerfile", "FROM scratch\n");
        _recipes.Write("openstack/Dockerfile", "FROM scratch\n");
        using ReleaseImages images = Create();

        ImageRecipe recipe = images.RecipeFor(new ReleaseOptions { Name = "zed", Image = "cirunner/release:zed" });

        Assert.Equal(_recipes.Combine("zed"), recipe.Directory);
        Assert.Equal("zed", recipe.BuildArgs[ReleaseImages.ReleaseArgument]);
    }

    [Fact]
    public void RecipeFor_ReleaseWithoutAFolder_UsesTheSharedRecipeWithTheReleaseAsArgument()
    {
        _recipes.Write("zed/Dockerfile", "FROM scratch\n");
        _recipes.Write("openstack/Dockerfile", "FROM scratch\n");
        using ReleaseImages images = Create();

        ImageRecipe first = images.RecipeFor(new ReleaseOptions { Name = "2024.1", Image = "cirunner/release:2024.1" });
        ImageRecipe second = images.RecipeFor(new ReleaseOptions { Name = "2025.1", Image = "cirunner/release:2025.1" });

        Assert.Equal(_recipes.Combine("openstack"), first.Directory);
        Assert.Equal("2024.1", first.BuildArgs[ReleaseImages.ReleaseArgument]);
        Assert.Equal("cirunner/release:2024.1", first.Tag);
        // Same folder, different release: different recipe hashes, so each image is rebuilt only when its own inputs change.
        Assert.NotEqual(ImageBuilder.HashRecipe(first.Directory, first.BuildArgs), ImageBuilder.HashRecipe(second.Directory, second.BuildArgs));
    }

    private ReleaseImages Create()
    {
        // The client is never used by RecipeFor; no engine is contacted.
        IDockerClient client = new DockerClientBuilder().WithEndpoint(new Uri("unix:///nonexistent.sock")).Build();
        return new ReleaseImages(
            [],
            _recipes.Path,
            new ImageBuilder(client, TimeProvider.System, NullLogger<ImageBuilder>.Instance),
            new BaseImageBuilder(client, TimeProvider.System, NullLogger<BaseImageBuilder>.Instance),
            BaseImageRecipe.Default,
            new Dictionary<string, string>(StringComparer.Ordinal));
    }
}
