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

    [Fact]
    public void RecipeFor_ReleaseOfASuite_IsBuiltFromThatSuitesBaseImage()
    {
        _recipes.Write("2024.2/Dockerfile", "FROM scratch\n");
        _recipes.Write("zed/Dockerfile", "FROM scratch\n");
        using ReleaseImages images = Create();

        ImageRecipe trixie = images.RecipeFor(new ReleaseOptions { Name = "2024.2", Image = "cirunner/release:2024.2", Suite = "trixie" });
        ImageRecipe bookworm = images.RecipeFor(new ReleaseOptions { Name = "zed", Image = "cirunner/release:zed" });

        Assert.Equal("cirunner/base:trixie", trixie.BuildArgs[ReleaseImages.BaseImageArgument]);
        Assert.Equal(BaseImageRecipe.ForSuite("trixie").Hash(), trixie.ParentHash);
        Assert.Equal("cirunner/base:bookworm", bookworm.BuildArgs[ReleaseImages.BaseImageArgument]);
        Assert.Equal(BaseImageRecipe.Default.Hash(), bookworm.ParentHash);
    }

    [Fact]
    public void RecipeFor_SameFolderOnAnotherSuite_HasAnotherHash()
    {
        _recipes.Write("2024.2/Dockerfile", "FROM scratch\n");
        using ReleaseImages images = Create();

        ImageRecipe trixie = images.RecipeFor(new ReleaseOptions { Name = "2024.2", Image = "cirunner/release:2024.2", Suite = "trixie" });
        ImageRecipe bookworm = images.RecipeFor(new ReleaseOptions { Name = "2024.2", Image = "cirunner/release:2024.2", Suite = "bookworm" });

        Assert.NotEqual(ImageBuilder.HashRecipe(trixie), ImageBuilder.HashRecipe(bookworm));
    }

    [Fact]
    public void HashRecipe_BaseRecipeChanged_ReleaseHashChangesToo()
    {
        // A base that gained packages (systemd) must rebuild the release images made FROM it, though their folder did not change.
        _recipes.Write("zed/Dockerfile", "FROM scratch\n");
        using ReleaseImages before = Create(BaseImageRecipe.ForSuite);
        using ReleaseImages after = Create(suite => BaseImageRecipe.ForSuite(suite) with { Packages = ["puppet"] });
        var zed = new ReleaseOptions { Name = "zed", Image = "cirunner/release:zed" };

        Assert.NotEqual(ImageBuilder.HashRecipe(before.RecipeFor(zed)), ImageBuilder.HashRecipe(after.RecipeFor(zed)));
        Assert.Equal(ImageBuilder.HashRecipe(before.RecipeFor(zed)), ImageBuilder.HashRecipe(before.RecipeFor(zed)));
    }

    [Fact]
    public void ShippedRecipes_ZedOnBookwormAnd2024Point2OnTrixie_InstallTheKeystoneAndGlanceNode()
    {
        string recipes = Path.Combine(RepositoryRoot.Path, "deploy", "images");
        string zed = File.ReadAllText(Path.Combine(recipes, "zed", "Dockerfile"));
        string dalmatian = File.ReadAllText(Path.Combine(recipes, "2024.2", "Dockerfile"));

        string[] node =
        [
            "puppet-module-keystone", "puppet-module-glance", "puppet-module-nova", "puppet-module-neutron", "puppet-module-placement",
            "puppet-module-openstacklib", "puppet-module-oslo", "puppet-module-puppetlabs-stdlib", "puppet-module-puppetlabs-inifile",
            "puppet-module-puppetlabs-mysql", "puppet-module-puppetlabs-apache", "puppet-module-saz-memcached", "mariadb-server", "keystone",
            "glance", "apache2", "libapache2-mod-wsgi-py3", "memcached", "python3-memcache", "python3-pymemcache", "python3-openstackclient",
            "python3-pymysql", "python3-glanceclient", "${EXTRA_PACKAGES}", "--no-install-recommends", "rm -rf /var/lib/apt/lists/*",
        ];
        Assert.All(node, package => Assert.Contains(package, zed, StringComparison.Ordinal));
        Assert.All(node, package => Assert.Contains(package, dalmatian, StringComparison.Ordinal));
        Assert.Contains("      mime-support", zed, StringComparison.Ordinal);
        Assert.DoesNotContain("      mime-support", dalmatian, StringComparison.Ordinal);
        Assert.Contains("ARG BASE_IMAGE=cirunner/base:bookworm", zed, StringComparison.Ordinal);
        Assert.Contains("ARG BASE_IMAGE=cirunner/base:trixie", dalmatian, StringComparison.Ordinal);
    }

    private ReleaseImages Create(Func<string, BaseImageRecipe>? baseRecipes = null)
    {
        // The client is never used by RecipeFor; no engine is contacted.
        IDockerClient client = new DockerClientBuilder().WithEndpoint(new Uri("unix:///nonexistent.sock")).Build();
        return new ReleaseImages(
            [],
            _recipes.Path,
            new ImageBuilder(client, TimeProvider.System, NullLogger<ImageBuilder>.Instance),
            new BaseImageBuilder(client, TimeProvider.System, NullLogger<BaseImageBuilder>.Instance),
            baseRecipes ?? BaseImageRecipe.ForSuite,
            new Dictionary<string, string>(StringComparer.Ordinal),
            new PackageSnapshotBuilder(
                client,
                new DockerPackageSnapshots(client, TimeProvider.System, NullLogger<DockerPackageSnapshots>.Instance),
                TimeProvider.System,
                NullLogger<PackageSnapshotBuilder>.Instance));
    }
}
