using CiRunner.Configuration;

namespace CiRunner.Execution;

/// <summary>Makes a job's image exist when it is missing.</summary>
public interface IImageProvisioner
{
    /// <summary>Builds the image if a recipe for it is known; returns null when there is none.</summary>
    Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the package snapshot of <paramref name="release"/>'s image exist (building the image first when needed), as
    /// <c>cirunner images build --release</c> does; false when the release has no recipe or the build failed.
    /// </summary>
    Task<bool> ProvisionSnapshotAsync(string release, CancellationToken cancellationToken);
}

/// <summary>What <see cref="ReleaseImages.BuildAsync"/> did: every image (base images first) and every package snapshot.</summary>
/// <param name="Images">Each base and release image built or found up to date, in build order.</param>
/// <param name="Snapshots">Each package snapshot made sure of, for the releases with <c>PackageSnapshot</c>.</param>
public sealed record ReleaseImagesBuild(IReadOnlyList<ImageBuildOutcome> Images, IReadOnlyList<PackageSnapshotOutcome> Snapshots)
{
    public bool Succeeded => Images.All(i => i.Succeeded) && Snapshots.All(s => s.Succeeded);
}

/// <summary>
/// The release images: each release's <c>deploy/images/&lt;release&gt;/Dockerfile</c>, built FROM the offline base
/// image of its Debian suite (<c>cirunner/base:&lt;suite&gt;</c>), which is built first when it is missing or its
/// recipe changed; then, for releases with <c>PackageSnapshot</c>, the package snapshot of the image as built.
/// </summary>
public sealed class ReleaseImages : IImageProvisioner, IDisposable
{
    /// <summary>Build argument naming the base image in every release recipe.</summary>
    public const string BaseImageArgument = "BASE_IMAGE";

    /// <summary>Build argument naming the release in every release recipe.</summary>
    public const string ReleaseArgument = "RELEASE";

    /// <summary>The recipe folder for releases without a folder of their own.</summary>
    public const string SharedRecipe = "openstack";

    private readonly IReadOnlyList<ReleaseOptions> _releases;
    private readonly string _recipesRoot;
    private readonly ImageBuilder _imageBuilder;
    private readonly BaseImageBuilder _baseImageBuilder;
    private readonly Func<string, BaseImageRecipe> _baseRecipes;
    private readonly IReadOnlyDictionary<string, string> _buildArgs;
    private readonly PackageSnapshotBuilder _snapshots;
    private readonly SemaphoreSlim _buildLock = new(1, 1);

    /// <param name="releases">Configured releases.</param>
    /// <param name="recipesRoot">The folder with one recipe folder per release (<c>deploy/images</c>).</param>
    /// <param name="imageBuilder">Builds release recipes.</param>
    /// <param name="baseImageBuilder">Builds the base images.</param>
    /// <param name="baseRecipes">The base image of a Debian suite (<see cref="BaseImageRecipe.ForSuite"/>); each release recipe starts FROM its suite's.</param>
    /// <param name="buildArgs">Extra build arguments for every release recipe (a package repository, for example).</param>
    /// <param name="snapshots">Builds package snapshots for releases with <c>PackageSnapshot</c>.</param>
    public ReleaseImages(
        IReadOnlyList<ReleaseOptions> releases,
        string recipesRoot,
        ImageBuilder imageBuilder,
        BaseImageBuilder baseImageBuilder,
        Func<string, BaseImageRecipe> baseRecipes,
        IReadOnlyDictionary<string, string> buildArgs,
        PackageSnapshotBuilder snapshots)
    {
        _releases = releases;
        _recipesRoot = recipesRoot;
        _imageBuilder = imageBuilder;
        _baseImageBuilder = baseImageBuilder;
        _baseRecipes = baseRecipes;
        _buildArgs = buildArgs;
        _snapshots = snapshots;
    }

    /// <summary>The command a user runs to build a release's image; error messages name it.</summary>
    public static string BuildCommand(string release) => $"cirunner images build --release {release}";

    /// <summary>The base image recipe a release's recipe starts FROM.</summary>
    public BaseImageRecipe BaseRecipeFor(ReleaseOptions release)
    {
        ArgumentNullException.ThrowIfNull(release);
        return _baseRecipes(release.Suite);
    }

    public ImageRecipe RecipeFor(ReleaseOptions release)
    {
        ArgumentNullException.ThrowIfNull(release);
        BaseImageRecipe baseRecipe = BaseRecipeFor(release);
        var args = new Dictionary<string, string>(_buildArgs, StringComparer.Ordinal)
        {
            [BaseImageArgument] = baseRecipe.Tag,
            [ReleaseArgument] = release.Name,
        };
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { [ContainerLabels.Release] = release.Name };

        // A release with a folder of its own uses it; the others share one recipe that takes the release as an argument.
        string folder = Path.Combine(_recipesRoot, release.Name);
        if (!Directory.Exists(folder))
        {
            folder = Path.Combine(_recipesRoot, SharedRecipe);
        }

        // Release recipes install packages from the mirror; host networking works on engines without a default bridge.
        // The base's recipe hash is part of the release's: a base that gained packages (systemd) rebuilds what is FROM it.
        return new ImageRecipe(release.Image, folder, args, "host", labels) { ParentHash = baseRecipe.Hash() };
    }

    /// <summary>
    /// Builds the named release's image (or every release's), each after its suite's base image, skipping what is up
    /// to date; then makes sure each built or up-to-date image of a release with <c>PackageSnapshot</c> has its
    /// package snapshot. A failed base skips its suite's releases; the others go on.
    /// </summary>
    public async Task<ReleaseImagesBuild> BuildAsync(string? release, bool force, IProgress<string>? output, CancellationToken cancellationToken)
    {
        List<ReleaseOptions> selected = Select(release);
        await _buildLock.WaitAsync(cancellationToken);
        try
        {
            var images = new List<ImageBuildOutcome>();
            var snapshots = new List<PackageSnapshotOutcome>();
            var bases = new Dictionary<string, ImageBuildOutcome>(StringComparer.Ordinal);
            foreach (ReleaseOptions each in selected)
            {
                ImageBuildOutcome image = await BuildReleaseAsync(each, force, bases, images, output, cancellationToken);
                if (image.Succeeded && each.PackageSnapshot)
                {
                    snapshots.Add(await _snapshots.EnsureAsync(each.Name, each.Image, force, output, cancellationToken));
                }
            }

            return new ReleaseImagesBuild(images, snapshots);
        }
        finally
        {
            _buildLock.Release();
        }
    }

    public void Dispose() => _buildLock.Dispose();

    public async Task<bool> ProvisionSnapshotAsync(string release, CancellationToken cancellationToken)
    {
        ReleaseOptions? match = _releases.FirstOrDefault(r => string.Equals(r.Name, release, StringComparison.Ordinal));
        if (match is not { PackageSnapshot: true })
        {
            return false;
        }

        return (await BuildAsync(release, force: false, output: null, cancellationToken)).Succeeded;
    }

    public async Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken)
    {
        ReleaseOptions? match = _releases.FirstOrDefault(r =>
            string.Equals(r.Image, image, StringComparison.Ordinal) && (release is null || string.Equals(r.Name, release, StringComparison.Ordinal)));
        BaseImageRecipe? baseRecipe = match is null ? BaseRecipes().FirstOrDefault(b => string.Equals(b.Tag, image, StringComparison.Ordinal)) : null;
        if (baseRecipe is not null)
        {
            await _buildLock.WaitAsync(cancellationToken);
            try
            {
                return await _baseImageBuilder.BuildAsync(baseRecipe, force: false, output, cancellationToken);
            }
            finally
            {
                _buildLock.Release();
            }
        }

        if (match is null || !File.Exists(Path.Combine(_recipesRoot, match.Name, "Dockerfile")))
        {
            return null;
        }

        // A job needs the image now; its package snapshot (another release's upgrade cells use it) is `images build`'s.
        await _buildLock.WaitAsync(cancellationToken);
        try
        {
            var images = new List<ImageBuildOutcome>();
            ImageBuildOutcome built = await BuildReleaseAsync(match, force: false, new Dictionary<string, ImageBuildOutcome>(StringComparer.Ordinal), images, output, cancellationToken);
            return images.FirstOrDefault(r => !r.Succeeded) ?? built;
        }
        finally
        {
            _buildLock.Release();
        }
    }

    /// <summary>Builds the release's base image once per suite (remembered in <paramref name="bases"/>), then the release's image.</summary>
    private async Task<ImageBuildOutcome> BuildReleaseAsync(
        ReleaseOptions release, bool force, Dictionary<string, ImageBuildOutcome> bases, List<ImageBuildOutcome> images, IProgress<string>? output, CancellationToken cancellationToken)
    {
        BaseImageRecipe baseRecipe = BaseRecipeFor(release);
        if (!bases.TryGetValue(baseRecipe.Tag, out ImageBuildOutcome? baseResult))
        {
            baseResult = await _baseImageBuilder.BuildAsync(baseRecipe, force, output, cancellationToken);
            bases[baseRecipe.Tag] = baseResult;
            images.Add(baseResult);
        }

        if (!baseResult.Succeeded)
        {
            // Said once, by the base's own outcome; the release is not attempted FROM a missing base.
            return baseResult;
        }

        ImageBuildOutcome image = await _imageBuilder.BuildAsync(RecipeFor(release), force, output, cancellationToken);
        images.Add(image);
        return image;
    }

    private List<ReleaseOptions> Select(string? release)
    {
        List<ReleaseOptions> selected = release is null
            ? _releases.ToList()
            : _releases.Where(r => string.Equals(r.Name, release, StringComparison.Ordinal)).ToList();
        if (selected.Count == 0)
        {
            throw new ArgumentException(
                $"Release '{release}' is not configured; configured releases: {string.Join(", ", _releases.Select(r => r.Name))}.",
                nameof(release));
        }

        return selected;
    }

    /// <summary>The base images of the configured releases' suites, and the default one.</summary>
    private IEnumerable<BaseImageRecipe> BaseRecipes() =>
        _releases.Select(r => r.Suite).Append(BaseImageRecipe.Default.Suite).Distinct(StringComparer.Ordinal).Select(_baseRecipes);
}
