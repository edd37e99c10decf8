using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CiRunner.Matrix;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>Runs one job to its end and says how it ended. Expected outcomes (failure, timeout, cancelled, error) are values.</summary>
public interface IJobExecutor
{
    /// <summary>
    /// Runs <paramref name="job"/> in a fresh container and removes the container on every path. Cancelling
    /// <paramref name="cancellationToken"/> ends the job as <see cref="JobResult.Cancelled"/>; the method does not
    /// throw for cancellation, timeouts or infrastructure failures.
    /// </summary>
    Task<JobOutcome> ExecuteAsync(JobSpec job, IJobProgress progress, CancellationToken cancellationToken);
}

/// <summary>Tunables of the executor that are not configuration (they hold for every job).</summary>
public sealed class ExecutorOptions
{
    /// <summary>Bound for each cleanup call (kill, remove), which runs even when the job was cancelled.</summary>
    public TimeSpan CleanupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Output lines quoted as evidence in error summaries.</summary>
    public int EvidenceLines { get; init; } = 15;
}

/// <summary>
/// Runs a job as one container on a Docker engine: created with the job's labels and limits, every phase's files
/// copied in through the archive API before it starts, its main process a generated script
/// (<see cref="StepScript"/>) that runs the steps in order while the executor follows the output stream, writes
/// the job log, decides each step's result and lets the script go on. The container is removed on every path.
/// </summary>
public sealed partial class DockerJobExecutor : IJobExecutor
{
    /// <summary>Timers take at most about 24.8 days (int.MaxValue milliseconds); a job never needs that long.</summary>
    private static readonly TimeSpan MaximumTimeout = TimeSpan.FromDays(24);

    /// <summary>What the executor allows beyond the script's own bounded wait for systemd before it gives up on the script.</summary>
    private static readonly TimeSpan BootTimeoutMargin = TimeSpan.FromSeconds(15);

    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DockerJobExecutor> _logger;
    private readonly IImageProvisioner? _images;
    private readonly ExecutorOptions _options;
    private readonly IPackageSnapshots? _snapshots;
    private readonly ISystemdHostStatus? _systemd;
    private string? _cgroupVersion;

    /// <param name="docker">Engine client (see <see cref="DockerClientFactory"/>).</param>
    /// <param name="timeProvider">Clock for timestamps, durations and timeouts.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="images">Builds a missing image; null: a missing image is an error naming the command that builds it.</param>
    /// <param name="options">Tunables; defaults when null.</param>
    /// <param name="snapshots">Finds the package snapshots that upgrade jobs mount; null: a job that needs one ends in an error.</param>
    /// <param name="systemd">What the start-up check found about booting systemd here; a known failure ends such jobs at once.</param>
    public DockerJobExecutor(
        IDockerClient docker,
        TimeProvider timeProvider,
        ILogger<DockerJobExecutor> logger,
        IImageProvisioner? images = null,
        ExecutorOptions? options = null,
        IPackageSnapshots? snapshots = null,
        ISystemdHostStatus? systemd = null)
    {
        _systemd = systemd;
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
        _images = images;
        _options = options ?? new ExecutorOptions();
        _snapshots = snapshots;
    }

    public async Task<JobOutcome> ExecuteAsync(JobSpec job, IJobProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(progress);
        var run = new JobRun(job, _timeProvider.GetUtcNow(), _timeProvider.GetTimestamp());
        LogJobStarted(_logger, job.RunId, job.JobId, job.Image);

        string? invalid = Validate(job);
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
            ending = (JobResult.Error, $"error while {run.Stage}: {Evidence(run, Describe(ex), exitCode: null)}");
        }

        // Asked before the cleanup: the container's state tells a daemon that went away from a job that broke.
        if (ending.Result == JobResult.Error && run.Failure is not null)
        {
            run.TransientCause = await TransientCauseAsync(run, run.Failure);
        }

        // Every path above ends here (the last catch takes any exception), so the container is always ended.
        await EndContainerAsync(run);
        return await FinishAsync(run, ending.Result, ending.Summary);
    }

    private async Task<(JobResult Result, string Summary)> RunAsync(JobRun run, IJobProgress progress, JobTokens tokens)
    {
        JobSpec job = run.Job;
        JobLog log = run.Log!;
        CancellationToken token = tokens.Job;
        await log.EventAsync(
            $"job {job.JobIdText} of run {job.RunIdText} (instance {job.InstanceId}): image {job.Image}, " +
            $"{job.Phases.Count} phase(s), {run.TotalSteps} step(s), timeout {Seconds(job.JobTimeout)}",
            token);
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        string script = StepScript.Render(job, nonce);
        string markerPrefix = StepScript.MarkerPrefix(nonce);

        // The archive is written on the thread pool while the engine creates the container (reading git objects is synchronous).
        Task<Stream?> archiveTask = Task.Run(() => PrepareArchiveAsync(job, token), token);
        try
        {
            if (job.PackageSnapshot is { } source)
            {
                run.Stage = $"looking up the package snapshot of release {source.Release}";
                run.Snapshot = await FindSnapshotAsync(source, token);
                await log.EventAsync(
                    $"package snapshot of {source.Release}: {run.Snapshot.Id} ({run.Snapshot.PackageCount} packages, volume {run.Snapshot.Volume}), mounted read-only at {PackageSnapshotSource.MountPath}",
                    token);
            }

            if (job.Init == InitSystem.Systemd)
            {
                if (_systemd?.Last is { Works: false } known)
                {
                    throw new JobErrorException(known.Describe());
                }

                run.Stage = "asking the engine for its cgroup version";
                _cgroupVersion ??= await SystemdContainer.CgroupVersionAsync(_docker, token);
            }

            // The image's id is looked up while the container is created: a missing image fails the creation, and only
            // then is it built (or named as missing), so an existing image costs no round trip before the creation.
            run.Stage = "creating the container";
            Task<string> imageId = InspectImageIdAsync(job.Image, token);
            try
            {
                run.ContainerId = await CreateUncancelledAsync(run, script);
                token.ThrowIfCancellationRequested();
                run.ImageId = await imageId;
            }
            catch (DockerImageNotFoundException)
            {
                await imageId.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                run.ImageId = await ProvideMissingImageAsync(run, token);
                run.Stage = "creating the container";
                run.ContainerId ??= await CreateUncancelledAsync(run, script);
                token.ThrowIfCancellationRequested();
            }
            catch
            {
                // Whatever failed first, the lookup's own failure is not news.
                _ = imageId.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                throw;
            }

            LogContainerCreated(_logger, job.RunId, job.JobId, run.ContainerId);

            await using (Stream? archive = await archiveTask)
            {
                if (archive is not null)
                {
                    run.Stage = "copying the module sets and scenario files into the container";
                    long size = archive.Length;
                    await _docker.Containers.ExtractArchiveToContainerAsync(run.ContainerId, new CopyToContainerParameters { Path = "/" }, archive, token);
                    await log.EventAsync(
                        $"copied {job.Phases.Sum(p => p.Modules.Count)} module(s) and {job.Phases.Sum(p => p.ScenarioFiles.Count)} scenario file(s), {size / 1024.0:F0} KiB",
                        token);
                }
            }

            if (job.Init == InitSystem.Systemd)
            {
                // systemd is PID 1: the script runs beside it as one exec, attached from its start.
                run.Stage = "starting the container (systemd)";
                await _docker.Containers.StartContainerAsync(run.ContainerId, new ContainerStartParameters(), token);
                run.Started = true;
                await progress.ContainerStartedAsync(job, run.ContainerId, run.ImageId, token);
                await log.EventAsync(
                    $"container {Short(run.ContainerId)} started from {run.ImageId}: booting systemd (at most {Seconds(job.BootTimeout)}, Docker:BootTimeout)",
                    token);
                run.Stage = "starting the step script beside systemd";
                using MultiplexedStream exec = await StartScriptExecAsync(run.ContainerId, script, token);
                run.Stage = "booting systemd";
                return await FollowAsync(run, exec, markerPrefix, progress, tokens);
            }

            // Attached before the start, so not a byte of the script's output is missed.
            run.Stage = "attaching to the container";
            using MultiplexedStream stream = await _docker.Containers.AttachContainerAsync(
                run.ContainerId,
                new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true },
                token);

            run.Stage = "starting the container";
            await _docker.Containers.StartContainerAsync(run.ContainerId, new ContainerStartParameters(), token);
            run.Started = true;
            await progress.ContainerStartedAsync(job, run.ContainerId, run.ImageId, token);
            await log.EventAsync($"container {Short(run.ContainerId)} started from {run.ImageId}", token);

            run.Stage = "running the steps";
            return await FollowAsync(run, stream, markerPrefix, progress, tokens);
        }
        finally
        {
            // On an early exit the archive may still be being written: let it end, then drop it.
            await DiscardAsync(archiveTask);
        }
    }

    /// <summary>
    /// Reads the container's output until the job's end: output lines go to the log, markers start and end steps.
    /// A step in flight when something goes wrong (timeout, cancellation, a broken stream) ends with that cause.
    /// </summary>
    private async Task<(JobResult Result, string Summary)> FollowAsync(JobRun run, MultiplexedStream stream, string markerPrefix, IJobProgress progress, JobTokens tokens)
    {
        JobLog log = run.Log!;
        List<(JobPhase Phase, StepDefinition Step)> steps = run.Job.Phases.SelectMany(p => p.Steps.Select(s => (p, s))).ToList();
        OutputStream[] outputs = [new OutputStream(isStderr: false), new OutputStream(isStderr: true)];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        using var stepTimer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(tokens.Job, stepTimer.Token);
        StepRun? current = null;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);

        // The script bounds its own wait for systemd; this bounds a script that hangs while it waits (a stuck systemctl).
        bool booting = run.Job.Init == InitSystem.Systemd;
        long bootStarted = _timeProvider.GetTimestamp();
        if (booting)
        {
            stepTimer.CancelAfter(run.Job.BootTimeout + BootTimeoutMargin);
        }

        try
        {
            while (true)
            {
                MultiplexedStream.ReadResult read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, reading.Token);
                if (read.EOF)
                {
                    foreach (OutputStream output in outputs)
                    {
                        await output.EndAsync(log);
                    }

                    await log.FlushAsync(tokens.Job);
                    throw new JobErrorException(run.Job.Init == InitSystem.Systemd
                        ? "the step script (run beside systemd) ended before the job did (the container was killed, ran out of memory or the engine stopped)"
                        : $"the container's main process ended before the job did (killed, out of memory, the engine stopped, or no {StepScript.Shell} in the image)")
                    {
                        ContainerEnded = true,
                    };
                }

                OutputStream from = outputs[read.Target == MultiplexedStream.TargetStream.StandardError ? 1 : 0];
                foreach (string line in from.Splitter.Push(buffer, read.Count))
                {
                    StepMarker? marker = StepScript.Parse(line, markerPrefix);
                    if (marker is null)
                    {
                        current?.PackageInstall.Observe(line);
                        await from.LineAsync(log, line);
                        continue;
                    }

                    // The empty line before a marker is the marker's own leading newline, not output.
                    from.DropHeldEmptyLine();
                    seen[marker.Key] = seen.GetValueOrDefault(marker.Key) + 1;
                    if (seen[marker.Key] < 2)
                    {
                        // Act once both streams carry the marker: then each stream's output before it is logged.
                        continue;
                    }

                    switch (marker.Kind)
                    {
                        case StepMarkerKind.Boot:
                            stepTimer.CancelAfter(Timeout.InfiniteTimeSpan);
                            booting = false;
                            if (marker.ExitCode != 0)
                            {
                                throw new JobErrorException(
                                    $"systemd did not come up within {Seconds(run.Job.BootTimeout)} (Docker:BootTimeout); the journal's tail is in the log. " +
                                    "If no job here ever boots it, the host cannot run systemd in an unprivileged container: see docs/configuration.md, \"Jobs that boot systemd\"");
                            }

                            await log.EventAsync($"systemd is up after {_timeProvider.GetElapsedTime(bootStarted).TotalSeconds:F1} s", tokens.Job);
                            await stream.WriteAsync(StepScript.Next, 0, StepScript.Next.Length, tokens.Job);
                            break;
                        case StepMarkerKind.Phase:
                            JobPhase phase = run.Job.Phases[marker.Index];
                            if (marker.ExitCode != 0)
                            {
                                throw new JobErrorException($"moving the files of phase {phase.Name} into /cirunner failed (exit {marker.ExitCode})");
                            }

                            await log.EventAsync($"phase {phase.Name}: its module set and scenario files are in place", tokens.Job);
                            await stream.WriteAsync(StepScript.Next, 0, StepScript.Next.Length, tokens.Job);
                            break;
                        case StepMarkerKind.Start:
                            current = await StartStepAsync(run, steps[marker.Index].Phase, steps[marker.Index].Step, marker.Index, progress, tokens.Job);
                            stepTimer.CancelAfter(current.Step.Timeout);
                            break;
                        case StepMarkerKind.End:
                            stepTimer.CancelAfter(Timeout.InfiniteTimeSpan);
                            StepRun ended = current ?? throw new JobErrorException($"step {marker.Index} ended without starting");
                            current = null;
                            run.EndsOnItsOwn = marker.Index == steps.Count - 1 && StepScript.EndsOnItsOwn(run.Job);
                            StepOutcome outcome = await FinishStepAsync(run, ended, marker.ExitCode!.Value, progress, reading.Token);
                            if (outcome.Result != JobResult.Success)
                            {
                                return (outcome.Result, StepSummary(run, outcome));
                            }

                            if (marker.Index == steps.Count - 1)
                            {
                                return (JobResult.Success, $"success: {run.TotalSteps} step(s) passed");
                            }

                            await stream.WriteAsync(StepScript.Next, 0, StepScript.Next.Length, tokens.Job);
                            break;
                    }
                }

                await log.FlushAsync(tokens.Job);
            }
        }
        catch (OperationCanceledException) when (booting && stepTimer.IsCancellationRequested && !tokens.Job.IsCancellationRequested)
        {
            await LogJournalTailAsync(run);
            throw new JobErrorException(
                $"systemd did not answer within {Seconds(run.Job.BootTimeout + BootTimeoutMargin)} (Docker:BootTimeout and a margin); the journal's tail is in the log. " +
                "If no job here ever boots it, the host cannot run systemd in an unprivileged container: see docs/configuration.md, \"Jobs that boot systemd\"");
        }
        catch (Exception ex) when (current is not null)
        {
            StepRun interrupted = current;
            JobResult result;
            string message;
            switch (ex)
            {
                case OperationCanceledException when tokens.External.IsCancellationRequested:
                    (result, message) = (JobResult.Cancelled, "cancelled; container killed");
                    break;
                case OperationCanceledException when tokens.JobTimeout.IsCancellationRequested:
                    (result, message) = (JobResult.Timeout, $"the job exceeded its {Seconds(run.Job.JobTimeout)} limit during this step; container killed");
                    break;
                case OperationCanceledException when stepTimer.IsCancellationRequested:
                    (result, message) = (JobResult.Timeout, $"the step exceeded its {Seconds(interrupted.Step.Timeout)} limit; container killed");
                    break;
                default:
                    run.Failure = ex;
                    (result, message) = (JobResult.Error, Evidence(run, Describe(ex), exitCode: null));
                    break;
            }

            if (result != JobResult.Error)
            {
                await KillContainerAsync(run);
            }

            StepOutcome outcome = await RecordStepAsync(run, interrupted, result, null, message, [], progress);
            return (result, StepSummary(run, outcome));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<StepRun> StartStepAsync(JobRun run, JobPhase phase, StepDefinition step, int index, IJobProgress progress, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> command = StepCommands.For(step, phase.Manifest);
        string label = $"step {index + 1}/{run.TotalSteps} {phase.Name}/{step.Name}";
        run.Stage = $"running {label}";
        var started = new StepRun(phase, step, index, command, label, _timeProvider.GetUtcNow(), _timeProvider.GetTimestamp());
        await run.Log!.EventAsync($"{label} ({Lower(step.Kind)}, timeout {Seconds(step.Timeout)}): {Quote(command)}", cancellationToken);
        await progress.StepStartedAsync(run.Job, new StepStart(phase.Name, index, step.Name, step.Kind, command, started.StartedAt), cancellationToken);
        return started;
    }

    private async Task<StepOutcome> FinishStepAsync(JobRun run, StepRun step, long exitCode, IJobProgress progress, CancellationToken cancellationToken)
    {
        (JobResult result, string? message) = StepCommands.Interpret(step.Step.Kind, exitCode);
        IReadOnlyList<IdempotencyChange> changes = [];
        IReadOnlyList<TempestTestResult> tests = [];
        if (result == JobResult.Error)
        {
            message = $"could not start `{Quote(step.Command)}` in image {run.Job.Image}: {Evidence(run, $"exit {exitCode}", exitCode)}";
        }
        else if (result == JobResult.Failure && step.PackageInstall.Describe(run.Job.Image, run.Job.Release) is { } missing)
        {
            // Offline, apt can only fail for want of the package in the image: the environment's fault, not the module's.
            result = JobResult.Error;
            message = missing;
        }
        else if (step.Step.Kind == StepKind.Idempotency && StepCommands.PuppetReportedChanges(exitCode))
        {
            // The script waits for an answer, so the container, and Puppet's report in it, are still there.
            (changes, string? readError) = await ReadChangesAsync(run, cancellationToken);
            message += readError is null
                ? $"; changed: {string.Join("; ", changes.Select(c => c.Describe()))}"
                : $"; the changed resources could not be read from Puppet's report: {readError}";
        }
        else if (step.Step.Kind == StepKind.Tempest)
        {
            // The script waits for an answer, so the container, and Tempest's results in it, are still there.
            (result, message, tests) = await TempestResults.ReadAsync(_docker, run.ContainerId!, exitCode, cancellationToken);
        }

        return await RecordStepAsync(run, step, result, exitCode, message, changes, progress, tests);
    }

    private async Task<StepOutcome> RecordStepAsync(
        JobRun run, StepRun step, JobResult result, long? exitCode, string? message, IReadOnlyList<IdempotencyChange> changes, IJobProgress progress, IReadOnlyList<TempestTestResult>? tests = null)
    {
        TimeSpan duration = _timeProvider.GetElapsedTime(step.StartedTimestamp);
        var outcome = new StepOutcome(step.Phase.Name, step.Index, step.Step.Name, step.Step.Kind, result, exitCode, step.StartedAt, duration, message) { TempestTests = tests ?? [] };
        run.Steps.Add(outcome);
        run.Changes.AddRange(changes);
        LogStepFinished(_logger, run.Job.RunId, run.Job.JobId, step.Step.Name, result, exitCode, duration.TotalSeconds);

        // The step's end is recorded even when the job was cancelled: bounded by the cleanup timeout instead.
        using var record = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        await run.Log!.EventAsync(
            $"{step.Label}: {Lower(result)}, exit {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {duration.TotalSeconds:F2} s" +
            (message is null ? "" : $" - {message}"),
            record.Token);
        await progress.StepFinishedAsync(run.Job, outcome, changes, record.Token);
        return outcome;
    }

    // Puppet's last_run_report of a whole OpenStack node is a few MB; the bound only stops a runaway file.
    private const long MaxReportBytes = 256L * 1024 * 1024;

    private async Task<(IReadOnlyList<IdempotencyChange> Changes, string? Error)> ReadChangesAsync(JobRun run, CancellationToken cancellationToken)
    {
        (string? yaml, string? problem) = await ContainerFile.ReadTextAsync(_docker, run.ContainerId!, StepCommands.LastRunReportPath, MaxReportBytes, cancellationToken);
        if (yaml is null)
        {
            return ([], problem);
        }

        try
        {
            return (PuppetReportParser.ParseChanges(yaml), null);
        }
        catch (FormatException ex)
        {
            return ([], Describe(ex));
        }
    }

    /// <summary>The package snapshot the job mounts, or an error naming the command that builds it.</summary>
    private async Task<PackageSnapshotInfo> FindSnapshotAsync(PackageSnapshotSource source, CancellationToken cancellationToken)
    {
        string build = ReleaseImages.BuildCommand(source.Release);
        if (_snapshots is null)
        {
            throw new JobErrorException($"the job moves its node onto the package snapshot of release {source.Release}, but this executor has no snapshot lookup");
        }

        if (await _snapshots.FindAsync(source, cancellationToken) is { } found)
        {
            return found;
        }

        // As for a missing image: the release's recipe builds its image and then the snapshot of that image.
        if (_images is not null && await _images.ProvisionSnapshotAsync(source.Release, cancellationToken)
            && await _snapshots.FindAsync(source, cancellationToken) is { } made)
        {
            return made;
        }

        throw new JobErrorException(
            $"release {source.Release} has no package snapshot of its image {source.ReleaseImage} on the engine (never built, built from an older image, " +
            $"or its build did not finish); build it with `{build}`");
    }

    /// <summary>Runs the step script beside systemd as one exec, attached (stdin carries the executor's answers).</summary>
    private async Task<MultiplexedStream> StartScriptExecAsync(string containerId, string script, CancellationToken cancellationToken)
    {
        ContainerExecCreateResponse exec = await _docker.Exec.CreateContainerExecAsync(
            containerId,
            new ContainerExecCreateParameters
            {
                Cmd = [StepScript.Shell, "-c", script, "cirunner-steps"],
                AttachStdin = true,
                AttachStdout = true,
                AttachStderr = true,
            },
            cancellationToken);
        return await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters { Detach = false }, cancellationToken);
    }

    /// <summary>Writes the journal's tail into the job log (bounded): the evidence when systemd did not come up.</summary>
    private async Task LogJournalTailAsync(JobRun run)
    {
        if (run.ContainerId is null || run.Log is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        string text;
        try
        {
            ContainerExecCreateResponse exec = await _docker.Exec.CreateContainerExecAsync(
                run.ContainerId,
                new ContainerExecCreateParameters { Cmd = ["journalctl", "-b", "--no-pager", "-n", "40"], AttachStdout = true, AttachStderr = true },
                timeout.Token);
            using MultiplexedStream stream = await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), timeout.Token);
            (string stdout, string stderr) = await stream.ReadOutputToEndAsync(timeout.Token);
            text = (stdout + stderr).TrimEnd();
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            text = $"(the journal could not be read: {ex.Message})";
        }

        await run.Log.EventAsync("journal (last 40 lines):\n" + text, timeout.Token);
        foreach (string line in text.Split('\n').TakeLast(_options.EvidenceLines))
        {
            await run.Log.OutputAsync(isStderr: false, line);
        }
    }

    private async Task<string> InspectImageIdAsync(string image, CancellationToken cancellationToken) =>
        (await _docker.Images.InspectImageAsync(image, cancellationToken)).ID;

    /// <summary>Builds the job's missing image through the provisioner, or fails naming the command that builds it.</summary>
    private async Task<string> ProvideMissingImageAsync(JobRun run, CancellationToken cancellationToken)
    {
        JobSpec job = run.Job;
        LogImageMissing(_logger, job.RunId, job.JobId, job.Image);

        string hint = job.Release is null
            ? $"image '{job.Image}' is missing; build or load it on the engine"
            : $"image '{job.Image}' is missing; build it with `{ReleaseImages.BuildCommand(job.Release)}`";
        if (_images is null)
        {
            throw new JobErrorException(hint);
        }

        run.Stage = $"building missing image {job.Image}";
        await run.Log!.EventAsync($"image {job.Image} is missing: building it", cancellationToken);
        ImageBuildOutcome? built = await _images.ProvisionAsync(job.Image, job.Release, null, cancellationToken);
        if (built is null)
        {
            throw new JobErrorException(hint + " (no recipe for it is known)");
        }

        await run.Log!.EventAsync(string.Join('\n', built.OutputTail.Prepend($"image build {Lower(built.Status)} in {built.Duration.TotalSeconds:F1} s; last output:")), cancellationToken);
        if (!built.Succeeded || built.ImageId is null)
        {
            throw new JobErrorException(
                $"building image '{built.Tag}' failed: {built.Error}" +
                (job.Release is null ? "" : $" (rebuild with `{ReleaseImages.BuildCommand(job.Release)}`)") +
                $"\nlast output:\n{string.Join('\n', built.OutputTail.TakeLast(_options.EvidenceLines))}");
        }

        return built.Tag == job.Image ? built.ImageId : (await _docker.Images.InspectImageAsync(job.Image, cancellationToken)).ID;
    }

    private static async Task<string> CreateContainerAsync(
        IDockerClient docker, JobSpec job, string script, string? cgroupVersion, PackageSnapshotInfo? snapshot, CancellationToken cancellationToken)
    {
        ContainerLimits limits = job.Limits;
        var parameters = new CreateContainerParameters
        {
            Image = job.Image,

            // A user entrypoint also drops the image's CMD, so nothing is appended to the script's arguments.
            Entrypoint = [StepScript.Shell, "-c", script, "cirunner-steps"],
            Labels = job.ContainerLabelSet(),

            // The script's shell is PID 1 and ignores SIGTERM, so `docker stop` or a daemon shutdown would wait 10 s
            // per job container before killing it; there is nothing to stop gracefully in a job.
            StopSignal = "SIGKILL",

            // stdin carries the executor's "next" answers to the script; steps read /dev/null instead.
            OpenStdin = true,
            StdinOnce = false,
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfig
            {
                NetworkMode = limits.NetworkMode,
                Memory = limits.MemoryBytes,

                // Equal to Memory: no swap on top of the limit, so a runaway job fails instead of thrashing.
                MemorySwap = limits.MemoryBytes,
                NanoCPUs = (long)(limits.Cpus * 1_000_000_000),
                PidsLimit = limits.PidsLimit,
                Privileged = false,

                // Puppet runs as root inside: take away what it does not need rather than trust the image.
                SecurityOpt = limits.NoNewPrivileges ? ["no-new-privileges"] : [],
                CapDrop = [.. limits.DroppedCapabilities],

                // The engine removes the container once it is killed, as for `docker run --rm`: the removal
                // overlaps the caller's next job, and it happens even if this process dies right after the kill.
                AutoRemove = true,

                // No init process: the script's shell is PID 1, and dash, bash and busybox sh all wait for any child
                // (wait3/waitpid on -1) while a step runs, which reaps the orphans of services a step starts.
                Init = false,
            },
        };
        if (job.Init == InitSystem.Systemd)
        {
            // systemd is PID 1 and the script comes later as an exec: nothing attaches to the container's own stdin.
            SystemdContainer.Configure(parameters, cgroupVersion ?? "1");
            parameters.OpenStdin = false;
            parameters.AttachStdin = false;
            parameters.AttachStdout = false;
            parameters.AttachStderr = false;
        }

        if (snapshot is not null)
        {
            // A named volume lives on the engine, so a remote engine mounts it as well as the local one.
            parameters.HostConfig.Mounts =
            [
                new Mount { Type = "volume", Source = snapshot.Volume, Target = PackageSnapshotSource.MountPath, ReadOnly = true },
            ];
        }

        CreateContainerResponse created = await docker.Containers.CreateContainerAsync(parameters, cancellationToken);
        return created.ID;
    }

    /// <summary>One archive with every phase's files, each under <see cref="StepScript.PhaseArchiveRoot"/>; null when no phase has files.</summary>
    private static async Task<Stream?> PrepareArchiveAsync(JobSpec job, CancellationToken cancellationToken)
    {
        List<ModuleSetPart> parts = job.Phases
            .Select((phase, index) => (phase, index))
            .Where(p => p.phase.HasFiles)
            .Select(p => new ModuleSetPart(StepScript.PhaseArchiveRoot(p.index), p.phase.Modules, p.phase.ScenarioFiles))
            .ToList();
        if (parts.Count == 0)
        {
            return null;
        }

        // A module set can be tens of megabytes: spool it to a temporary file that deletes itself.
        string path = Path.Combine(Path.GetTempPath(), $"cirunner-{job.RunIdText}-{job.JobIdText}-{Guid.NewGuid():N}.tar");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await ModuleSetArchive.WriteAsync(file, parts, cancellationToken);
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    private async Task KillContainerAsync(JobRun run)
    {
        if (run.ContainerId is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        try
        {
            await _docker.Containers.KillContainerAsync(run.ContainerId, new ContainerKillParameters(), timeout.Token);
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            // The final cleanup tries again (and removes it); this kill only makes the stop prompt.
            LogCleanupFailed(_logger, run.Job.RunId, run.Job.JobId, run.ContainerId, "kill", ex.Message);
        }
    }

    /// <summary>
    /// Ends the container on every path. A started container is killed and the engine removes it (auto-remove);
    /// one that never started (auto-remove acts on exit only) or already stopped is removed here.
    /// </summary>
    private async Task EndContainerAsync(JobRun run)
    {
        using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        if (run.ContainerId is null)
        {
            if (run.CreationSent)
            {
                // The create request timed out: the engine may still have made a container whose id never reached
                // us. It carries the job's labels, so find it by them.
                await RemoveByLabelsAsync(run, timeout.Token);
            }

            return;
        }

        try
        {
            if (run.Started && run.EndsOnItsOwn)
            {
                // The script exited after its last step; the engine's auto-remove takes the container from here.
                run.Ended = true;
                return;
            }

            if (run.Started && await TryKillAsync(run.ContainerId, timeout.Token))
            {
                run.Ended = true;
                return;
            }

            await _docker.Containers.RemoveContainerAsync(run.ContainerId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, timeout.Token);
            run.Ended = true;
        }
        catch (DockerContainerNotFoundException)
        {
            run.Ended = true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // "removal already in progress": the engine's auto-remove got there first.
            run.Ended = true;
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The orphan reaper removes it at the next start of this instance (it carries the instance label).
            LogCleanupFailed(_logger, run.Job.RunId, run.Job.JobId, run.ContainerId, "removal", ex.Message);
        }
    }

    /// <summary>
    /// Creates the job's container without letting the job's cancellation interrupt the request: an interrupted
    /// create can still make a container on the engine whose id never arrives. Only a bounded timeout applies;
    /// the caller checks for cancellation once the id is known, so the normal cleanup removes the container.
    /// </summary>
    private async Task<string> CreateUncancelledAsync(JobRun run, string script)
    {
        using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        run.CreationSent = true;
        return await CreateContainerAsync(_docker, run.Job, script, _cgroupVersion, run.Snapshot, timeout.Token);
    }

    private async Task RemoveByLabelsAsync(JobRun run, CancellationToken cancellationToken)
    {
        try
        {
            var parameters = new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>>(StringComparer.Ordinal)
                {
                    ["label"] = new Dictionary<string, bool>(StringComparer.Ordinal)
                    {
                        [$"{ContainerLabels.Instance}={run.Job.InstanceId}"] = true,
                        [$"{ContainerLabels.Job}={run.Job.JobIdText}"] = true,
                    },
                },
            };
            foreach (ContainerListResponse container in await _docker.Containers.ListContainersAsync(parameters, cancellationToken))
            {
                try
                {
                    await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
                }
                catch (DockerContainerNotFoundException)
                {
                    // Gone already.
                }
            }
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The orphan reaper removes it at the next start of this instance.
            LogCleanupFailed(_logger, run.Job.RunId, run.Job.JobId, "(unknown)", "removal", ex.Message);
        }
    }

    /// <summary>True when the kill was delivered (auto-remove follows) or the container is already gone; false when it is stopped but present.</summary>
    private async Task<bool> TryKillAsync(string containerId, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Containers.KillContainerAsync(containerId, new ContainerKillParameters(), cancellationToken);
            return true;
        }
        catch (DockerContainerNotFoundException)
        {
            return true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // Not running: it stopped by itself or was killed on a timeout; removing it below is harmless either way.
            return false;
        }
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
                string removal = run.ContainerId is null ? "" : run.Ended ? $"; container {Short(run.ContainerId)} removed" : $"; container {Short(run.ContainerId)} NOT removed (the reaper removes it at the next start)";
                await run.Log.EventAsync($"job finished: {summary}\n{Lower(result)} in {outcome.Duration.TotalSeconds:F2} s{removal}", timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // The log could not take the last line (a full disk): the outcome still says what happened.
            }

            await run.Log.DisposeAsync();
        }

        return outcome;
    }

    /// <summary>
    /// Why an infrastructure error may not happen again, or null when it would (or nothing says otherwise). Losing the
    /// engine (no answer, a refused or broken connection) is transient. A container whose output ended early is
    /// looked at: gone, or killed by a signal without running out of memory, means something outside the job ended
    /// it (a daemon restart kills and auto-removes its containers); one that exited by itself or ran out of memory
    /// would do so again.
    /// </summary>
    private async Task<string?> TransientCauseAsync(JobRun run, Exception failure)
    {
        if (failure is HttpRequestException or SocketException or TimeoutException or OperationCanceledException)
        {
            return $"the Docker engine did not answer ({failure.Message})";
        }

        if (failure is not (IOException or JobErrorException { ContainerEnded: true }) || run.ContainerId is null)
        {
            return null;
        }

        using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        try
        {
            State? state = (await _docker.Containers.InspectContainerAsync(run.ContainerId, timeout.Token)).State;
            if (state is null || state.OOMKilled || state.Running)
            {
                // Still running: the engine is fine and the trouble was on this side (a full disk under the log, say).
                return null;
            }

            return state.ExitCode >= 128
                ? $"container {Short(run.ContainerId)} was killed from outside (exit {state.ExitCode}, not out of memory)"
                : null;
        }
        catch (DockerContainerNotFoundException)
        {
            return $"container {Short(run.ContainerId)} disappeared from the engine (removed from outside, or the engine restarted)";
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException or OperationCanceledException)
        {
            return $"the Docker engine stopped answering ({ex.Message})";
        }
        catch (Exception ex) when (ex is DockerApiException or ObjectDisposedException)
        {
            // No telling what ended it (or the client is closing with this process): the error stands.
            return null;
        }
    }

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
        };
    }

    private string StepSummary(JobRun run, StepOutcome step)
    {
        string where = $"step '{step.Name}' ({step.Kind.ToString().ToLowerInvariant()}, phase {step.Phase})";
        string text = $"{Lower(step.Result)}: {where}: {step.Message}";
        if (step.Result == JobResult.Failure)
        {
            // Puppet's own error lines say more than any exit code.
            List<string> errors = run.Log!.Tail(_options.EvidenceLines * 2)
                .Where(line => line.StartsWith("err Error:", StringComparison.Ordinal) || line.StartsWith("out Error:", StringComparison.Ordinal))
                .Select(line => line[4..])
                .Take(3)
                .ToList();
            if (errors.Count > 0)
            {
                text += "\n" + string.Join('\n', errors);
            }
        }

        return text;
    }

    private string Evidence(JobRun run, string cause, long? exitCode)
    {
        string container = run.ContainerId is null ? "no container" : $"container {Short(run.ContainerId)}";
        string exit = exitCode is null ? "" : $", exit {exitCode}";
        IReadOnlyList<string> tail = run.Log?.Tail(_options.EvidenceLines) ?? [];
        return $"{cause}\n({container}, image {run.Job.Image}{exit})" + (tail.Count == 0 ? "" : "\nlast output:\n" + string.Join('\n', tail));
    }

    private static string Describe(Exception ex) => ex switch
    {
        JobErrorException => ex.Message,
        ModuleSetException => $"module set: {ex.Message}",
        DockerImageNotFoundException api => $"the Docker engine has no such image: {api.ResponseBody?.Trim()}",
        DockerApiException api => $"the Docker engine answered {(int)api.StatusCode} {api.StatusCode}: {api.ResponseBody?.Trim()}",
        HttpRequestException or SocketException => $"the Docker engine is unreachable: {ex.Message}",
        IOException io when IsDiskFull(io) => $"the disk is full (no space left on device): {ex.Message}; free space in the data directory (new jobs wait while it is below Service:MinFreeDiskMb)",
        IOException => $"I/O failed (disk full, or the engine dropped the connection): {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    // ENOSPC (28) on Linux; ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL on Windows, where HResult wraps the code.
    private static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) is 28 or 39 or 112;

    private static string? Validate(JobSpec job)
    {
        if (job.Phases.Count == 0)
        {
            return "the job has no phases";
        }

        foreach (JobPhase phase in job.Phases)
        {
            foreach (StepDefinition step in phase.Steps)
            {
                if (step.Kind is StepKind.Apply or StepKind.Idempotency && string.IsNullOrEmpty(phase.Manifest))
                {
                    return $"step '{step.Name}' of phase {phase.Name} applies a manifest, but the phase has none";
                }

                if (step.Kind == StepKind.Command && step.Command.Count == 0)
                {
                    return $"command step '{step.Name}' of phase {phase.Name} has an empty command";
                }

                if (step.Timeout <= TimeSpan.Zero || step.Timeout > MaximumTimeout)
                {
                    return $"step '{step.Name}' of phase {phase.Name} has a timeout of {step.Timeout}, outside (0, {MaximumTimeout.TotalDays} days]";
                }
            }
        }

        return job.JobTimeout <= TimeSpan.Zero || job.JobTimeout > MaximumTimeout
            ? $"the job timeout {job.JobTimeout} is outside (0, {MaximumTimeout.TotalDays} days]"
            : null;
    }

    private static async Task DiscardAsync(Task<Stream?> archive)
    {
        try
        {
            Stream? stream = await archive;
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ModuleSetException or LibGit2Sharp.LibGit2SharpException)
        {
            // Already reported if the job got as far as using the archive; otherwise the job ended for another reason.
        }
    }

    private static string Quote(IReadOnlyList<string> command) =>
        string.Join(' ', command.Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"'{a}'" : a));

    private static string Short(string id) => id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..19] : id[..Math.Min(12, id.Length)];

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static string Kind(StepKind kind) => Lower(kind);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} starting on image {Image}")]
    private static partial void LogJobStarted(ILogger logger, long runId, long jobId, string image);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} of run {RunId}: container {ContainerId} created")]
    private static partial void LogContainerCreated(ILogger logger, long runId, long jobId, string containerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId}: image {Image} is missing")]
    private static partial void LogImageMissing(ILogger logger, long runId, long jobId, string image);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId}: step {Step} {Result} (exit {ExitCode}) in {Seconds:F2} s")]
    private static partial void LogStepFinished(ILogger logger, long runId, long jobId, string step, JobResult result, long? exitCode, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} finished: {Result} in {Seconds:F2} s: {Summary}")]
    private static partial void LogJobFinished(ILogger logger, long runId, long jobId, JobResult result, double seconds, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId}: {Action} of container {ContainerId} failed: {Error}")]
    private static partial void LogCleanupFailed(ILogger logger, long runId, long jobId, string containerId, string action, string error);

    /// <summary>A step that has started: what runs, and since when.</summary>
    private sealed record StepRun(JobPhase Phase, StepDefinition Step, int Index, IReadOnlyList<string> Command, string Label, DateTimeOffset StartedAt, long StartedTimestamp)
    {
        /// <summary>Watches the step's output for a package apt could not install.</summary>
        public PackageInstallFailure PackageInstall { get; } = new();
    }

    /// <summary>One of the container's output streams: its line splitter, and an empty line held back in case a marker follows.</summary>
    private sealed class OutputStream
    {
        private readonly bool _isStderr;
        private bool _heldEmptyLine;

        public OutputStream(bool isStderr)
        {
            _isStderr = isStderr;
        }

        public Utf8LineSplitter Splitter { get; } = new();

        public async Task LineAsync(JobLog log, string line)
        {
            if (_heldEmptyLine)
            {
                _heldEmptyLine = false;
                await log.OutputAsync(_isStderr, "");
            }

            if (line.Length == 0)
            {
                _heldEmptyLine = true;
                return;
            }

            await log.OutputAsync(_isStderr, line);
        }

        public void DropHeldEmptyLine() => _heldEmptyLine = false;

        public async Task EndAsync(JobLog log)
        {
            string? rest = Splitter.Drain();
            if (rest is not null)
            {
                await LineAsync(log, rest);
            }

            if (_heldEmptyLine)
            {
                _heldEmptyLine = false;
                await log.OutputAsync(_isStderr, "");
            }
        }
    }

    /// <summary>Cancellation sources of one job: the caller's, the job timeout's, and both linked.</summary>
    private sealed record JobTokens(CancellationToken External, CancellationToken JobTimeout, CancellationToken Job);

    /// <summary>What is known about a running job; read by the summary and cleanup on every path.</summary>
    private sealed class JobRun
    {
        public JobRun(JobSpec job, DateTimeOffset startedAt, long startedTimestamp)
        {
            Job = job;
            StartedAt = startedAt;
            StartedTimestamp = startedTimestamp;
            TotalSteps = job.Phases.Sum(p => p.Steps.Count);
        }

        public JobSpec Job { get; }

        public DateTimeOffset StartedAt { get; }

        public long StartedTimestamp { get; }

        public int TotalSteps { get; }

        public string Stage { get; set; } = "starting";

        public JobLog? Log { get; set; }

        public string? ImageId { get; set; }

        public string? ContainerId { get; set; }

        /// <summary>The package snapshot the container mounts, once found.</summary>
        public PackageSnapshotInfo? Snapshot { get; set; }

        /// <summary>A create request went to the engine, so a container may exist even when <see cref="ContainerId"/> is null.</summary>
        public bool CreationSent { get; set; }

        public bool Started { get; set; }

        /// <summary>The script ran its last step and exits without a kill.</summary>
        public bool EndsOnItsOwn { get; set; }

        /// <summary>The container is killed (the engine's auto-remove follows) or removed.</summary>
        public bool Ended { get; set; }

        /// <summary>The exception that ended the job in an error, if one did.</summary>
        public Exception? Failure { get; set; }

        /// <summary>Why that error may not happen again (see <see cref="TransientCauseAsync"/>); null when it would.</summary>
        public string? TransientCause { get; set; }

        public List<StepOutcome> Steps { get; } = [];

        public List<IdempotencyChange> Changes { get; } = [];
    }
}

/// <summary>An infrastructure failure whose message already says what went wrong and what to do.</summary>
internal sealed class JobErrorException : Exception
{
    /// <summary>The container's output ended before the job did: whether that happens again depends on who ended it.</summary>
    public bool ContainerEnded { get; init; }

    public JobErrorException()
    {
    }

    public JobErrorException(string message)
        : base(message)
    {
    }

    public JobErrorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
