using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>
/// Provides a missing image on one engine of the pool by copying it from another engine that has it (the Engine API's
/// <c>images/get</c> streamed into <c>images/load</c>: same image id, same labels, nothing rebuilt), and builds it
/// from its recipe (<see cref="ReleaseImages"/>) only when no engine has it. A job's lockfile records the image id, so
/// an image copied between engines runs the same bits.
/// </summary>
public sealed partial class PeerImageLoader : IImageProvisioner, IDisposable
{
    private readonly string _engine;
    private readonly IDockerClient _docker;
    private readonly Func<IEnumerable<JobEngine>> _peers;
    private readonly IImageProvisioner _builder;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<PeerImageLoader> _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <param name="engine">The engine's name, for logs.</param>
    /// <param name="docker">The engine that lacks images.</param>
    /// <param name="peers">The pool's other engines, asked when an image is missing.</param>
    /// <param name="builder">Builds from the recipe when no engine has the image.</param>
    /// <param name="timeProvider">Clock for durations.</param>
    /// <param name="logger">Logger.</param>
    public PeerImageLoader(string engine, IDockerClient docker, Func<IEnumerable<JobEngine>> peers, IImageProvisioner builder, TimeProvider timeProvider, ILogger<PeerImageLoader> logger)
    {
        _engine = engine;
        _docker = docker;
        _peers = peers;
        _builder = builder;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken)
    {
        // Two jobs missing the same image copy it once: the second finds it loaded.
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            if (await IdOnAsync(_docker, image, cancellationToken) is { } present)
            {
                return new ImageBuildOutcome(image, ImageBuildStatus.UpToDate, present.Id, present.RecipeHash ?? "", null, [$"image {image} is on engine {_engine}"], TimeSpan.Zero);
            }

            foreach (JobEngine peer in _peers().Where(p => !p.IsDown))
            {
                if (await TryCopyFromAsync(peer, image, cancellationToken) is { } copied)
                {
                    return copied;
                }
            }
        }
        finally
        {
            _oneAtATime.Release();
        }

        return await _builder.ProvisionAsync(image, release, output, cancellationToken);
    }

    public void Dispose() => _oneAtATime.Dispose();

    public Task<bool> ProvisionSnapshotAsync(string release, CancellationToken cancellationToken) => _builder.ProvisionSnapshotAsync(release, cancellationToken);

    private async Task<ImageBuildOutcome?> TryCopyFromAsync(JobEngine peer, string image, CancellationToken cancellationToken)
    {
        long started = _timeProvider.GetTimestamp();
        try
        {
            if (await IdOnAsync(peer.Client, image, cancellationToken) is not { } source)
            {
                return null;
            }

            LogCopying(image, peer.Name, _engine);
            await using (Stream saved = await peer.Client.Images.SaveImageAsync(image, cancellationToken))
            {
                await _docker.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, saved, new Progress<JSONMessage>(), cancellationToken);
            }

            TimeSpan took = _timeProvider.GetElapsedTime(started);
            if (await IdOnAsync(_docker, image, cancellationToken) is { } loaded && loaded.Id == source.Id)
            {
                LogCopied(image, peer.Name, _engine, took.TotalSeconds);
                return new ImageBuildOutcome(image, ImageBuildStatus.Built, loaded.Id, loaded.RecipeHash ?? "", null,
                    [$"image {image} ({source.Id}) copied from engine {peer.Name} in {took.TotalSeconds:F1} s"], took);
            }

            LogCopyFailed(image, peer.Name, _engine, "the loaded image does not have the source's id");
            return null;
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var e && e is DockerApiException or HttpRequestException or IOException or TimeoutException
            || (raw is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // That engine could not give it (gone meanwhile, or out of space here): the next one, or the recipe.
            LogCopyFailed(image, peer.Name, _engine, EngineTransport.Unwrap(raw).Message);
            return null;
        }
    }

    private static async Task<(string Id, string? RecipeHash)?> IdOnAsync(IDockerClient docker, string image, CancellationToken cancellationToken)
    {
        (string? id, string? recipeHash) = await ImageBuilder.InspectAsync(docker, image, cancellationToken);
        return id is null ? null : (id, recipeHash);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {Image} is missing on engine {Engine}: copying it from engine {Peer}")]
    private partial void LogCopying(string image, string peer, string engine);

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {Image} copied from engine {Peer} to engine {Engine} in {Seconds:F1} s")]
    private partial void LogCopied(string image, string peer, string engine, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not copy image {Image} from engine {Peer} to engine {Engine}: {Error}")]
    private partial void LogCopyFailed(string image, string peer, string engine, string error);
}
