using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>
/// What a job's container needs on the engine before it is created, found or built: its image (built through the
/// provisioner when missing) and the package snapshot an upgrade job mounts. What cannot be had ends the job in an
/// error naming the command that builds it.
/// </summary>
internal sealed partial class JobPrerequisites
{
    private readonly IDockerClient _docker;
    private readonly ILogger _logger;
    private readonly IImageProvisioner _images;
    private readonly IPackageSnapshots _snapshots;
    private readonly int _evidenceLines;

    /// <param name="docker">The engine.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="images">Builds a missing image (and a missing snapshot's image) when its release has a recipe.</param>
    /// <param name="snapshots">Finds package snapshots.</param>
    /// <param name="evidenceLines">Output lines of a failed build quoted in the error.</param>
    public JobPrerequisites(IDockerClient docker, ILogger logger, IImageProvisioner images, IPackageSnapshots snapshots, int evidenceLines)
    {
        _docker = docker;
        _logger = logger;
        _images = images;
        _snapshots = snapshots;
        _evidenceLines = evidenceLines;
    }

    public async Task<string> InspectImageIdAsync(string image, CancellationToken cancellationToken) =>
        (await _docker.Images.InspectImageAsync(image, cancellationToken)).ID;

    /// <summary>The package snapshot the job mounts, or an error naming the command that builds it.</summary>
    public async Task<PackageSnapshotInfo> FindSnapshotAsync(PackageSnapshotSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        string build = ReleaseImages.BuildCommand(source.Release);
        if (await _snapshots.FindAsync(source, cancellationToken) is { } found)
        {
            return found;
        }

        // As for a missing image: the release's recipe builds its image and then the snapshot of that image.
        if (await _images.ProvisionSnapshotAsync(source.Release, cancellationToken)
            && await _snapshots.FindAsync(source, cancellationToken) is { } made)
        {
            return made;
        }

        throw new JobErrorException(
            $"release {source.Release} has no package snapshot of its image {source.ReleaseImage} on the engine (never built, built from an older image, " +
            $"or its build did not finish); build it with `{build}`");
    }

    /// <summary>Builds the job's missing image through the provisioner, or fails naming the command that builds it; the image's id.</summary>
    public async Task<string> ProvideMissingImageAsync(JobRun run, CancellationToken cancellationToken)
    {
        JobSpec job = run.Job;
        LogImageMissing(_logger, job.RunId, job.JobId, job.Image);
        if (job.ExactImage is { } exact)
        {
            throw new JobErrorException(exact.GoneMessage());
        }

        string hint = job.Release is null
            ? $"image '{job.Image}' is missing; build or load it on the engine"
            : $"image '{job.Image}' is missing; build it with `{ReleaseImages.BuildCommand(job.Release)}`";
        run.Stage = $"building missing image {job.Image}";
        await run.Log!.EventAsync($"image {job.Image} is missing: building it", cancellationToken);
        ImageBuildOutcome? built = await _images.ProvisionAsync(job.Image, job.Release, null, cancellationToken);
        if (built is null)
        {
            throw new JobErrorException(hint + " (no recipe for it is known)");
        }

        await run.Log!.EventAsync(string.Join('\n', built.OutputTail.Prepend($"image build {built.StatusText} in {built.Duration.TotalSeconds:F1} s; last output:")), cancellationToken);
        if (!built.Succeeded || built.ImageId is null)
        {
            throw new JobErrorException(
                $"building image '{built.Tag}' failed: {built.Error}" +
                (job.Release is null ? "" : $" (rebuild with `{ReleaseImages.BuildCommand(job.Release)}`)") +
                $"\nlast output:\n{string.Join('\n', built.OutputTail.TakeLast(_evidenceLines))}");
        }

        return built.Tag == job.Image ? built.ImageId : (await _docker.Images.InspectImageAsync(job.Image, cancellationToken)).ID;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId}: image {Image} is missing")]
    private static partial void LogImageMissing(ILogger logger, long runId, long jobId, string image);
}
