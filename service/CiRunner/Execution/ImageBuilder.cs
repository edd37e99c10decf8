using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>A Dockerfile recipe: a folder sent as the build context.</summary>
/// <param name="Tag">Image reference to build (<c>cirunner/release:zed</c>).</param>
/// <param name="Directory">The recipe folder with its <c>Dockerfile</c>.</param>
/// <param name="BuildArgs">Build arguments; part of the recipe hash.</param>
/// <param name="NetworkMode">Network of the build's RUN steps: <c>host</c> when they install packages (there is no default bridge on every engine).</param>
/// <param name="Labels">Extra image labels.</param>
public sealed record ImageRecipe(
    string Tag,
    string Directory,
    IReadOnlyDictionary<string, string> BuildArgs,
    string NetworkMode,
    IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>
    /// The recipe hash of the image it is built FROM, when CiRunner builds that one too (a release's base image);
    /// part of this recipe's hash, so a changed base rebuilds the images made from it.
    /// </summary>
    public string? ParentHash { get; init; }
}

/// <summary>
/// Builds an image from a recipe folder through the engine's build API, and skips the build when an image
/// with the tag already carries the recipe's hash label.
/// </summary>
public sealed partial class ImageBuilder
{
    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ImageBuilder> _logger;

    public ImageBuilder(IDockerClient docker, TimeProvider timeProvider, ILogger<ImageBuilder> logger)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The recipe's hash: see <see cref="HashRecipe(string, IReadOnlyDictionary{string, string}, string?)"/>.</summary>
    public static string HashRecipe(ImageRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        return HashRecipe(recipe.Directory, recipe.BuildArgs, recipe.ParentHash);
    }

    /// <summary>
    /// SHA-256 over the recipe's files (paths and contents, in ordinal path order), its build arguments and, when
    /// given, the recipe hash of the image it is built FROM.
    /// </summary>
    public static string HashRecipe(string directory, IReadOnlyDictionary<string, string> buildArgs, string? parentHash = null)
    {
        ArgumentNullException.ThrowIfNull(buildArgs);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string relative, string full) in RecipeFiles(directory))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"file {relative}\n"));
            byte[] content = File.ReadAllBytes(full);
            hash.AppendData(Encoding.UTF8.GetBytes($"{content.Length}\n"));
            hash.AppendData(content);
        }

        foreach (KeyValuePair<string, string> arg in buildArgs.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"arg {arg.Key}={arg.Value}\n"));
        }

        if (parentHash is not null)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"parent {parentHash}\n"));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The recipe hash label of an image; null when the image does not exist (or has no label).</summary>
    public static async Task<(string? ImageId, string? RecipeHash)> InspectAsync(IDockerClient docker, string tag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(docker);
        try
        {
            ImageInspectResponse image = await docker.Images.InspectImageAsync(tag, cancellationToken);
            string? hash = image.Config?.Labels is { } labels && labels.TryGetValue(ContainerLabels.RecipeHash, out string? value) ? value : null;
            return (image.ID, hash);
        }
        catch (DockerImageNotFoundException)
        {
            return (null, null);
        }
    }

    /// <summary>Builds the recipe unless an image with its tag and hash exists (or <paramref name="force"/>, which also bypasses the build cache).</summary>
    public async Task<ImageBuildOutcome> BuildAsync(ImageRecipe recipe, bool force, IProgress<string>? output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        long started = _timeProvider.GetTimestamp();
        if (!File.Exists(Path.Combine(recipe.Directory, "Dockerfile")))
        {
            return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.Failed, null, "", $"recipe folder '{recipe.Directory}' has no Dockerfile", [], TimeSpan.Zero);
        }

        string hash = HashRecipe(recipe);
        (string? existingId, string? existingHash) = await InspectAsync(_docker, recipe.Tag, cancellationToken);
        if (!force && existingId is not null && string.Equals(existingHash, hash, StringComparison.Ordinal))
        {
            LogUpToDate(_logger, recipe.Tag, hash);
            return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.UpToDate, existingId, hash, null, [], _timeProvider.GetElapsedTime(started));
        }

        LogBuilding(_logger, recipe.Tag, recipe.Directory, hash);
        var log = new BuildOutput(output);
        string? error = null;
        using (MemoryStream context = await CreateContextAsync(recipe.Directory, cancellationToken))
        {
            var labels = new Dictionary<string, string>(recipe.Labels, StringComparer.Ordinal) { [ContainerLabels.RecipeHash] = hash };
            var parameters = new ImageBuildParameters
            {
                Tags = [recipe.Tag],
                Dockerfile = "Dockerfile",
                BuildArgs = new Dictionary<string, string>(recipe.BuildArgs, StringComparer.Ordinal),
                Labels = labels,
                NetworkMode = recipe.NetworkMode,
                Remove = true,
                ForceRemove = true,

                // A forced build fetches the packages again: the build cache would hand back the stale layers (and the
                // package versions a mirror may no longer have, which a package snapshot cannot freeze).
                NoCache = force,
            };
            var progress = new SynchronousProgress<JSONMessage>(message =>
            {
                if (!string.IsNullOrEmpty(message.Stream))
                {
                    log.Add(message.Stream);
                }

                string? messageError = message.Error?.Message;
                if (!string.IsNullOrEmpty(messageError))
                {
                    error = messageError;
                    log.Add(messageError);
                }
            });
            try
            {
                await _docker.Images.BuildImageFromDockerfileAsync(parameters, context, null, null, progress, cancellationToken);
            }
            catch (DockerApiException ex)
            {
                error = $"the engine refused the build: {ex.StatusCode} {ex.ResponseBody?.Trim()}";
            }
        }

        (string? builtId, string? builtHash) = error is null ? await InspectAsync(_docker, recipe.Tag, cancellationToken) : (null, null);
        if (error is null && (builtId is null || !string.Equals(builtHash, hash, StringComparison.Ordinal)))
        {
            error = $"the build reported no error but image '{recipe.Tag}' with recipe hash {hash} does not exist afterwards";
        }

        TimeSpan duration = _timeProvider.GetElapsedTime(started);
        if (error is not null)
        {
            LogBuildFailed(_logger, recipe.Tag, error);
            return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.Failed, null, hash, error, log.Tail(), duration);
        }

        if (existingId is not null && !string.Equals(existingId, builtId, StringComparison.Ordinal))
        {
            await RemoveReplacedAsync(existingId, cancellationToken);
        }

        LogBuilt(_logger, recipe.Tag, builtId!, duration.TotalSeconds);
        return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.Built, builtId, hash, null, log.Tail(), duration);
    }

    /// <summary>
    /// The image the tag pointed at before the rebuild is now untagged: remove it so rebuilds do not pile up
    /// images. Without force, the engine keeps it while a container or another tag still uses it.
    /// </summary>
    private async Task RemoveReplacedAsync(string imageId, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Images.DeleteImageAsync(imageId, new ImageDeleteParameters(), cancellationToken);
        }
        catch (DockerApiException ex)
        {
            LogReplacedKept(_logger, imageId, ex.StatusCode);
        }
    }

    private static List<(string Relative, string Full)> RecipeFiles(string directory)
    {
        string root = Path.GetFullPath(directory);
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(full => (Relative: Path.GetRelativePath(root, full).Replace('\\', '/'), Full: full))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();
    }

    private static async Task<MemoryStream> CreateContextAsync(string directory, CancellationToken cancellationToken)
    {
        // Recipes are a Dockerfile and a few small files: an in-memory context is enough.
        var context = new MemoryStream();
        await using (var writer = new TarWriter(context, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string relative, string full) in RecipeFiles(directory))
            {
                await using FileStream content = File.OpenRead(full);
                var entry = new PaxTarEntry(TarEntryType.RegularFile, relative)
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    DataStream = content,
                };
                await writer.WriteEntryAsync(entry, cancellationToken);
            }
        }

        context.Position = 0;
        return context;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {Tag} is up to date (recipe {RecipeHash})")]
    private static partial void LogUpToDate(ILogger logger, string tag, string recipeHash);

    [LoggerMessage(Level = LogLevel.Information, Message = "Building image {Tag} from {RecipeDirectory} (recipe {RecipeHash})")]
    private static partial void LogBuilding(ILogger logger, string tag, string recipeDirectory, string recipeHash);

    [LoggerMessage(Level = LogLevel.Information, Message = "Built image {Tag} ({ImageId}) in {Seconds:F1} s")]
    private static partial void LogBuilt(ILogger logger, string tag, string imageId, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Building image {Tag} failed: {Error}")]
    private static partial void LogBuildFailed(ILogger logger, string tag, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kept replaced image {ImageId}: the engine answered {Status} (still in use)")]
    private static partial void LogReplacedKept(ILogger logger, string imageId, System.Net.HttpStatusCode status);
}
