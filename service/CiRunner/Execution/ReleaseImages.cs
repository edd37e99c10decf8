using CiRunner.Configuration;

namespace CiRunner.Execution;

/// <summary>Makes a job's image exist when it is missing.</summary>
public interface IImageProvisioner
{
    /// <summary>Builds the image if a recipe for it is known; returns null when there is none.</summary>
    Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken);
}

/// <summary>
/// The release images: each release's <c>deploy/images/&lt;release&gt;/Dockerfile</c>, built FROM the offline
/// base image, which is built first when it is missing or its recipe changed.
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
    private readonly BaseImageRecipe _baseRecipe;
    private readonly IReadOnlyDictionary<string, string> _buildArgs;
    private readonly SemaphoreSlim _buildLock = new(1, 1);

    /// <param name="releases">Configured releases.</param>
    /// <param name="recipesRoot">The folder with one recipe folder per release (<c>deploy/images</c>).</param>
    /// <param name="imageBuilder">Builds release recipes.</param>
    /// <param name="baseImageBuilder">Builds the base image.</param>
    /// <param name="baseRecipe">The base image every release recipe starts FROM.</param>
    /// <param name="buildArgs">Extra build arguments for every release recipe (a package repository, for example).</param>
    public ReleaseImages(
        IReadOnlyList<ReleaseOptions> releases,
        string recipesRoot,
        ImageBuilder imageBuilder,
        BaseImageBuilder baseImageBuilder,
        BaseImageRecipe baseRecipe,
        IReadOnlyDictionary<string, string> buildArgs)
    {
        _releases = releases;
        _recipesRoot = recipesRoot;
        _imageBuilder = imageBuilder;
        _baseImageBuilder = baseImageBuilder;
        _baseRecipe = baseRecipe;
        _buildArgs = buildArgs;
    }

    /// <summary>The command a user runs to build a release's image; error messages name it.</summary>
    public static string BuildCommand(string release) => $"cirunner images build --release {release}";

    public ImageRecipe RecipeFor(ReleaseOptions release)
    {
        ArgumentNullException.ThrowIfNull(release);
        var args = new Dictionary<string, string>(_buildArgs, StringComparer.Ordinal)
        {
            [BaseImageArgument] = _baseRecipe.Tag,
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
        return new ImageRecipe(release.Image, folder, args, "host", labels);
    }

    /// <summary>Builds the base image, then the named release's image (or every release's), skipping what is up to date.</summary>
    public async Task<IReadOnlyList<ImageBuildOutcome>> BuildAsync(string? release, bool force, IProgress<string>? output, CancellationToken cancellationToken)
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

        await _buildLock.WaitAsync(cancellationToken);
        try
        {
            var results = new List<ImageBuildOutcome>();
            ImageBuildOutcome baseResult = await _baseImageBuilder.BuildAsync(_baseRecipe, force, output, cancellationToken);
            results.Add(baseResult);
            if (!baseResult.Succeeded)
            {
                return results;
            }

            foreach (ReleaseOptions each in selected)
            {
                results.Add(await _imageBuilder.BuildAsync(RecipeFor(each), force, output, cancellationToken));
            }

            return results;
        }
        finally
        {
            _buildLock.Release();
        }
    }

    public void Dispose() => _buildLock.Dispose();

    public async Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken)
    {
        ReleaseOptions? match = _releases.FirstOrDefault(r =>
            string.Equals(r.Image, image, StringComparison.Ordinal) && (release is null || string.Equals(r.Name, release, StringComparison.Ordinal)));
        if (match is null && string.Equals(image, _baseRecipe.Tag, StringComparison.Ordinal))
        {
            await _buildLock.WaitAsync(cancellationToken);
            try
            {
                return await _baseImageBuilder.BuildAsync(_baseRecipe, force: false, output, cancellationToken);
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

        IReadOnlyList<ImageBuildOutcome> results = await BuildAsync(match.Name, force: false, output, cancellationToken);
        return results.FirstOrDefault(r => !r.Succeeded) ?? results[^1];
    }
}
