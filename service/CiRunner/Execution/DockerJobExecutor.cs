using System.Security.Cryptography;
using CiRunner.Matrix;
using Docker.DotNet;
using Docker.DotNet.Models;
using static CiRunner.Execution.JobSummaries;

namespace CiRunner.Execution;

/// <summary>
/// Runs a job as one container on a Docker engine: created with the job's labels and limits
/// (<see cref="JobContainerParameters"/>), every phase's files copied in through the archive API before it starts, its
/// main process a generated script (<see cref="StepScript"/>) that runs the steps in order while the executor follows
/// the output stream (<see cref="StepStreamFollower"/>), writes the job log, decides each step's result and lets the
/// script go on. The container is removed on every path (<see cref="ManagedContainer"/>).
/// </summary>
public sealed partial class DockerJobExecutor : IJobExecutor
{
    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DockerJobExecutor> _logger;
    private readonly ExecutorOptions _options;
    private readonly ISystemdHostStatus _systemd;
    private readonly JobPrerequisites _prerequisites;
    private readonly StepStreamFollower _follower;
    private readonly PhaseSnapshotter? _phaseSnapshots;
    private string? _cgroupVersion;

    /// <param name="docker">Engine client (see <see cref="DockerClientFactory"/>).</param>
    /// <param name="timeProvider">Clock for timestamps, durations and timeouts.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="images">Builds a missing image from its release's recipe; without one, a missing image is an error naming the command that builds it.</param>
    /// <param name="options">Tunables.</param>
    /// <param name="snapshots">Finds the package snapshots that upgrade jobs mount.</param>
    /// <param name="systemd">What the start-up check found about booting systemd here; a known failure ends such jobs at once.</param>
    /// <param name="phaseSnapshots">Makes and finds phase snapshots on this engine; null when <c>Snapshots:Enabled</c> is off.</param>
    public DockerJobExecutor(
        IDockerClient docker,
        TimeProvider timeProvider,
        ILogger<DockerJobExecutor> logger,
        IImageProvisioner images,
        ExecutorOptions options,
        IPackageSnapshots snapshots,
        ISystemdHostStatus systemd,
        PhaseSnapshotter? phaseSnapshots = null)
    {
        _phaseSnapshots = phaseSnapshots;
        _systemd = systemd;
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
        _options = options;
        _prerequisites = new JobPrerequisites(docker, logger, images, snapshots, _options.EvidenceLines);
        _follower = new StepStreamFollower(docker, timeProvider, _options, new StepOutcomes(docker, timeProvider, logger, _options), phaseSnapshots);
    }

    public async Task<JobOutcome> ExecuteAsync(JobSpec job, IJobProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(progress);
        var container = new ManagedContainer(
            _docker, _timeProvider, _options.CleanupTimeout, (id, action, error) => LogCleanupFailed(_logger, job.RunId, job.JobId, id, action, error));
        var run = new JobRun(job, container, _timeProvider.GetUtcNow(), _timeProvider.GetTimestamp());
        LogJobStarted(_logger, job.RunId, job.JobId, job.Image);

        string? invalid = JobValidation.Validate(job);
        if (invalid is not null)
        {
            return Finish(run, JobResult.Error, $"error: invalid job: {invalid}");
        }

        using var jobTimeout = new CancellationTokenSource(job.JobTimeout, _timeProvider);
        using var jobCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, jobTimeout.Token);
        var tokens = new JobTokens(cancellationToken, jobTimeout.Token, jobCancellation.Token);
        (JobResult Result, string Summary) ending;
        try
        {
            run.Stage = "opening the job log";
            run.Log = JobLog.Open(job.LogFilePath, _timeProvider);
            ending = await RunAsync(run, progress, tokens);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ending = (JobResult.Cancelled, $"cancelled while {run.Stage}");
        }
        catch (OperationCanceledException) when (jobTimeout.IsCancellationRequested)
        {
            ending = (JobResult.Timeout, $"timeout: the job exceeded its {Seconds(job.JobTimeout)} limit while {run.Stage}; container killed");
        }
        catch (Exception ex)
        {
            run.Failure = ex;
            ending = (JobResult.Error, $"error while {run.Stage}: {run.Evidence(Describe(ex), exitCode: null, _options.EvidenceLines)}");
        }

        // Asked before the cleanup: the container's state tells a daemon that went away from a job that broke.
        if (ending.Result == JobResult.Error && run.Failure is not null)
        {
            run.TransientCause = await container.TransientCauseAsync(run.Failure);
        }

        // Every path above ends here (the last catch takes any exception), so the container is always ended.
        await container.EndAsync();
        return await FinishAsync(run, ending.Result, ending.Summary);
    }

    private async Task<(JobResult Result, string Summary)> RunAsync(JobRun run, IJobProgress progress, JobTokens tokens)
    {
        JobSpec job = run.Job;
        JobLog log = run.Log!;
        ManagedContainer container = run.Container;
        CancellationToken token = tokens.Job;
        await log.EventAsync(
            $"job {job.JobIdText} of run {job.RunIdText} (instance {job.InstanceId}): image {job.Image}, " +
            $"{job.Phases.Count} phase(s), {run.TotalSteps} step(s), timeout {Seconds(job.JobTimeout)}",
            token);
        if (job.PackageSnapshot is { } source)
        {
            run.Stage = $"looking up the package snapshot of release {source.Release}";
            run.Snapshot = await _prerequisites.FindSnapshotAsync(source, token);
            if (source.ExpectedId is { } expected && run.Snapshot.Id != expected)
            {
                throw new JobErrorException(
                    $"Package snapshot {expected} of release {source.Release} that the replayed job used is gone ({source.ReleaseImage} now has {run.Snapshot.Id}), and a replay never uses other packages; bring back the image it was frozen from (`docker load` of a saved copy), then `{ReleaseImages.BuildCommand(source.Release)}` makes its snapshot again.");
            }

            await log.EventAsync(
                $"package snapshot of {source.Release}: {run.Snapshot.Id} ({run.Snapshot.PackageCount} packages, volume {run.Snapshot.Volume}), mounted read-only at {PackageSnapshotSource.MountPath}",
                token);
        }

        if (_phaseSnapshots is not null && job.Snapshots is not null)
        {
            run.Plan = await _phaseSnapshots.PlanAsync(run, ct => BaseImageIdAsync(run, ct), token);
            await TakeReusedPhasesAsync(run, progress, token);
        }

        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        string script = StepScript.Render(job, nonce, run.Plan);
        string markerPrefix = StepScript.MarkerPrefix(nonce);

        // The archive is written on the thread pool while the engine creates the container (reading git objects is synchronous).
        Task<Stream?> archiveTask = Task.Run(() => JobArchive.PrepareAsync(job, run.Plan.StartPhase, token), token);
        try
        {

            if (job.Init == InitSystem.Systemd)
            {
                if (_systemd.Last is { Works: false } known)
                {
                    throw new JobErrorException(known.Describe());
                }

                run.Stage = "asking the engine for its cgroup version";
                _cgroupVersion ??= await SystemdContainer.CgroupVersionAsync(_docker, token);
            }

            // The image's id is looked up while the container is created: a missing image fails the creation, and only
            // then is it built (or named as missing), so an existing image costs no round trip before the creation.
            run.Stage = "creating the container";
            CreateContainerParameters parameters = JobContainerParameters.Build(
                run.Plan.From is { } from ? job with { Image = from.ImageId } : job, script, _cgroupVersion, run.Snapshot);
            IReadOnlyDictionary<string, string> findAgain = JobContainerParameters.FindAgainLabels(job);

            // The job's image id is the release image's, also when the container starts from a phase snapshot of it.
            Task<string> imageId = run.Plan.BaseImageId is { } baseImageId ? Task.FromResult(baseImageId) : _prerequisites.InspectImageIdAsync(job.Image, token);
            string containerId;
            try
            {
                containerId = await container.CreateAsync(parameters, findAgain);
                token.ThrowIfCancellationRequested();
                run.ImageId = await imageId;
            }
            catch (DockerImageNotFoundException) when (run.Plan.From is null)
            {
                await imageId.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                run.ImageId = await _prerequisites.ProvideMissingImageAsync(run, token);
                run.Stage = "creating the container";
                containerId = container.Id ?? await container.CreateAsync(parameters, findAgain);
                token.ThrowIfCancellationRequested();
            }
            catch
            {
                // Whatever failed first, the lookup's own failure is not news.
                _ = imageId.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                throw;
            }

            LogContainerCreated(_logger, job.RunId, job.JobId, containerId);

            await using (Stream? archive = await archiveTask)
            {
                if (archive is not null)
                {
                    run.Stage = "copying the module sets and scenario files into the container";
                    long size = archive.Length;
                    await _docker.Containers.ExtractArchiveToContainerAsync(containerId, new CopyToContainerParameters { Path = "/" }, archive, token);
                    await log.EventAsync(
                        $"copied {JobArchive.Contents(job, run.Plan.StartPhase)}, {size / 1024.0:F0} KiB",
                        token);
                }
            }

            if (job.Init == InitSystem.Systemd)
            {
                // systemd is PID 1: the script runs beside it as one exec, attached from its start.
                run.Stage = "starting the container (systemd)";
                await container.StartAsync(token);
                await progress.ContainerStartedAsync(job, containerId, run.ImageId, token);
                await log.EventAsync(
                    $"container {Short(containerId)} started from {StartedFrom(job, run.ImageId, run.Plan.From)}: booting systemd (at most {Seconds(job.BootTimeout)}, Docker:BootTimeout)",
                    token);
                run.Stage = "starting the step script beside systemd";
                using MultiplexedStream exec = await StartScriptExecAsync(containerId, script, token);
                run.Stage = "booting systemd";
                return await _follower.FollowAsync(run, exec, markerPrefix, progress, tokens);
            }

            // Attached before the start, so not a byte of the script's output is missed.
            run.Stage = "attaching to the container";
            using MultiplexedStream stream = await _docker.Containers.AttachContainerAsync(
                containerId,
                new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true },
                token);

            run.Stage = "starting the container";
            await container.StartAsync(token);
            await progress.ContainerStartedAsync(job, containerId, run.ImageId, token);
            await log.EventAsync($"container {Short(containerId)} started from {StartedFrom(job, run.ImageId, run.Plan.From)}", token);

            run.Stage = "running the steps";
            return await _follower.FollowAsync(run, stream, markerPrefix, progress, tokens);
        }
        finally
        {
            // On an early exit the archive may still be being written: let it end, then drop it.
            await JobArchive.DiscardAsync(archiveTask);
        }
    }

    /// <summary>The release image's id, built (or copied from another engine) first when it is missing.</summary>
    private async Task<string> BaseImageIdAsync(JobRun run, CancellationToken cancellationToken)
    {
        try
        {
            return await _prerequisites.InspectImageIdAsync(run.Job.Image, cancellationToken);
        }
        catch (DockerImageNotFoundException)
        {
            return await _prerequisites.ProvideMissingImageAsync(run, cancellationToken);
        }
    }

    /// <summary>
    /// The phases before the plan's first come from its snapshot: their steps are recorded as passed (they did, in the
    /// job that made it), and the log says from which snapshot and job.
    /// </summary>
    private async Task TakeReusedPhasesAsync(JobRun run, IJobProgress progress, CancellationToken cancellationToken)
    {
        if (run.Plan.From is not { } from)
        {
            return;
        }

        run.PhaseSnapshots.Add(from);
        string note = $"from snapshot {Short(from.ImageId)} of job {from.SourceJobId} (run {from.SourceRunId})";
        await run.Log!.EventAsync(
            $"{from.Describe()}: the container starts from it, and phase(s) {string.Join(", ", run.Job.Phases.Take(run.Plan.StartPhase).Select(p => p.Name))} do not run again",
            cancellationToken);
        DateTimeOffset now = _timeProvider.GetUtcNow();
        foreach (JobPhase phase in run.Job.Phases.Take(run.Plan.StartPhase))
        {
            foreach (StepDefinition step in phase.Steps)
            {
                var outcome = new StepOutcome(phase.Name, run.Steps.Count, step.Name, step.Kind, JobResult.Success, 0, now, TimeSpan.Zero, note);
                run.Steps.Add(outcome);
                await progress.StepFinishedAsync(run.Job, outcome, [], cancellationToken);
            }
        }
    }

    /// <summary>Runs the step script beside systemd as one exec, attached (stdin carries the executor's answers).</summary>
    private async Task<MultiplexedStream> StartScriptExecAsync(string containerId, string script, CancellationToken cancellationToken)
    {
        ContainerExecCreateResponse exec = await _docker.Exec.CreateContainerExecAsync(
            containerId,
            new ContainerExecCreateParameters
            {
                Cmd = [StepScript.Shell, "-c", script, JobContainerParameters.ScriptName],
                AttachStdin = true,
                AttachStdout = true,
                AttachStderr = true,
            },
            cancellationToken);
        return await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters { Detach = false }, cancellationToken);
    }

    private async Task<JobOutcome> FinishAsync(JobRun run, JobResult result, string summary)
    {
        if (result == JobResult.Error && run.TransientCause is { } cause)
        {
            summary += $"\ntransient: {cause}";
        }

        JobOutcome outcome = Finish(run, result, summary);
        if (run.Log is not null)
        {
            using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
            try
            {
                string removal = run.ContainerId is null ? "" : run.Container.Ended ? $"; container {Short(run.ContainerId)} removed" : $"; container {Short(run.ContainerId)} NOT removed (the reaper removes it at the next start)";
                await run.Log.EventAsync($"job finished: {summary}\n{result.ToWire()} in {outcome.Duration.TotalSeconds:F2} s{removal}", timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // The log could not take the last line (a full disk): the outcome still says what happened.
            }

            await run.Log.DisposeAsync();
        }

        return outcome;
    }

    /// <summary>The job's outcome: the steps that ran, then every step that did not as skipped.</summary>
    private JobOutcome Finish(JobRun run, JobResult result, string summary)
    {
        var steps = new List<StepOutcome>(run.Steps);
        int index = steps.Count;
        string? reason = steps.Count > 0 ? $"not run: the job ended at step '{steps[^1].Name}'" : "not run: the job ended before its first step";
        foreach (JobPhase phase in run.Job.Phases)
        {
            foreach (StepDefinition step in phase.Steps)
            {
                if (index-- > 0)
                {
                    continue;
                }

                steps.Add(new StepOutcome(phase.Name, steps.Count, step.Name, step.Kind, JobResult.Skipped, null, null, TimeSpan.Zero, reason));
            }
        }

        TimeSpan duration = _timeProvider.GetElapsedTime(run.StartedTimestamp);
        LogJobFinished(_logger, run.Job.RunId, run.Job.JobId, result, duration.TotalSeconds, summary);
        return new JobOutcome(result, summary, steps, run.Changes.ToList(), run.ImageId, run.ContainerId, run.StartedAt, duration)
        {
            TransientCause = run.TransientCause,
            PackageSnapshot = run.Snapshot,
            PhaseSnapshots = [.. run.PhaseSnapshots],
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} starting on image {Image}")]
    private static partial void LogJobStarted(ILogger logger, long runId, long jobId, string image);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} of run {RunId}: container {ContainerId} created")]
    private static partial void LogContainerCreated(ILogger logger, long runId, long jobId, string containerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} finished: {Result} in {Seconds:F2} s: {Summary}")]
    private static partial void LogJobFinished(ILogger logger, long runId, long jobId, JobResult result, double seconds, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId}: {Action} of container {ContainerId} failed: {Error}")]
    private static partial void LogCleanupFailed(ILogger logger, long runId, long jobId, string containerId, string action, string error);
}
