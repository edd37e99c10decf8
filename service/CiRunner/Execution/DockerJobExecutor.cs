using System.Buffers;
using System.Formats.Tar;
using System.Globalization;
using System.Net.Sockets;
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
    /// <summary>
    /// The container's main process: it only keeps the container alive while steps run through exec. GNU
    /// coreutils and busybox both understand <c>sleep infinity</c>.
    /// </summary>
    public IReadOnlyList<string> KeepAliveCommand { get; init; } = ["sleep", "infinity"];

    /// <summary>Bound for each cleanup call (kill, remove), which runs even when the job was cancelled.</summary>
    public TimeSpan CleanupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Bound for the engine to report an exec's exit code after its output ended.</summary>
    public TimeSpan ExitCodeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Output lines quoted as evidence in error summaries.</summary>
    public int EvidenceLines { get; init; } = 15;
}

/// <summary>
/// Runs a job as one container on a Docker engine: created with the job's labels and limits, kept alive by a
/// trivial main process, files copied in through the archive API, every step an exec whose output streams into
/// the job log. The container is removed on every path.
/// </summary>
public sealed partial class DockerJobExecutor : IJobExecutor
{
    private const string ReplaceFilesCommand = "rm -rf /cirunner/modules /cirunner/scenario";

    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DockerJobExecutor> _logger;
    private readonly IImageProvisioner? _images;
    private readonly ExecutorOptions _options;

    /// <param name="docker">Engine client (see <see cref="DockerClientFactory"/>).</param>
    /// <param name="timeProvider">Clock for timestamps, durations and timeouts.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="images">Builds a missing image; null: a missing image is an error naming the command that builds it.</param>
    /// <param name="options">Tunables; defaults when null.</param>
    public DockerJobExecutor(
        IDockerClient docker,
        TimeProvider timeProvider,
        ILogger<DockerJobExecutor> logger,
        IImageProvisioner? images = null,
        ExecutorOptions? options = null)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
        _images = images;
        _options = options ?? new ExecutorOptions();
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
            ending = (JobResult.Error, $"error while {run.Stage}: {Evidence(run, Describe(ex), exitCode: null)}");
        }
        finally
        {
            await RemoveContainerAsync(run);
        }

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

        // The first phase's archive is written while the engine creates and starts the container.
        Task<Stream?> firstArchive = PrepareArchiveAsync(job, job.Phases[0], token);
        try
        {
            run.Stage = $"resolving image {job.Image}";
            run.ImageId = await ResolveImageAsync(run, token);

            run.Stage = "creating the container";
            run.ContainerId = await CreateContainerAsync(job, token);
            LogContainerCreated(_logger, job.RunId, job.JobId, run.ContainerId);

            run.Stage = "starting the container";
            await _docker.Containers.StartContainerAsync(run.ContainerId, new ContainerStartParameters(), token);
            await progress.ContainerStartedAsync(job, run.ContainerId, run.ImageId, token);
            await log.EventAsync($"container {Short(run.ContainerId)} started from {run.ImageId}", token);

            int index = 0;
            for (int p = 0; p < job.Phases.Count; p++)
            {
                JobPhase phase = job.Phases[p];
                run.Stage = $"preparing phase {phase.Name}";
                Task<Stream?> archiveTask = p == 0 ? firstArchive : PrepareArchiveAsync(job, phase, token);
                await using (Stream? archive = await archiveTask)
                {
                    if (archive is not null)
                    {
                        await CopyFilesAsync(run, phase, archive, replace: p > 0, token);
                    }
                }

                foreach (StepDefinition step in phase.Steps)
                {
                    StepOutcome outcome = await RunStepAsync(run, phase, step, index, progress, tokens);
                    if (outcome.Result != JobResult.Success)
                    {
                        return (outcome.Result, StepSummary(run, outcome));
                    }

                    index++;
                }
            }

            return (JobResult.Success, $"success: {run.TotalSteps} step(s) passed");
        }
        finally
        {
            // On an early exit the first archive may still be being written: let it end, then drop it.
            await DiscardAsync(firstArchive);
        }
    }

    private async Task<StepOutcome> RunStepAsync(JobRun run, JobPhase phase, StepDefinition step, int index, IJobProgress progress, JobTokens tokens)
    {
        JobSpec job = run.Job;
        JobLog log = run.Log!;
        IReadOnlyList<string> command = StepCommands.For(step, phase.Manifest);
        string label = $"step {index + 1}/{run.TotalSteps} {phase.Name}/{step.Name}";
        run.Stage = $"running {label}";
        DateTimeOffset startedAt = _timeProvider.GetUtcNow();
        long started = _timeProvider.GetTimestamp();
        await progress.StepStartedAsync(job, new StepStart(phase.Name, index, step.Name, step.Kind, command, startedAt), tokens.Job);
        await log.EventAsync($"{label} ({Kind(step.Kind)}, timeout {Seconds(step.Timeout)}): {Quote(command)}", tokens.Job);

        using var stepTimeout = new CancellationTokenSource(step.Timeout, _timeProvider);
        using var stepCancellation = CancellationTokenSource.CreateLinkedTokenSource(tokens.Job, stepTimeout.Token);
        long? exitCode = null;
        JobResult result;
        string? message;
        IReadOnlyList<IdempotencyChange> changes = [];
        try
        {
            exitCode = await ExecAsync(run, command, stepCancellation.Token);
            (result, message) = StepCommands.Interpret(step.Kind, exitCode.Value);
            if (result == JobResult.Error)
            {
                message = $"could not start `{Quote(command)}` in image {job.Image}: {Evidence(run, $"exit {exitCode}", exitCode)}";
            }
            else if (step.Kind == StepKind.Idempotency && StepCommands.PuppetReportedChanges(exitCode.Value))
            {
                (changes, string? readError) = await ReadChangesAsync(run, stepCancellation.Token);
                message += readError is null
                    ? $"; changed: {string.Join("; ", changes.Select(c => c.Describe()))}"
                    : $"; the changed resources could not be read from Puppet's report: {readError}";
            }
        }
        catch (OperationCanceledException) when (tokens.External.IsCancellationRequested)
        {
            (result, message) = (JobResult.Cancelled, "cancelled; container killed");
            await KillContainerAsync(run);
        }
        catch (OperationCanceledException) when (tokens.JobTimeout.IsCancellationRequested)
        {
            (result, message) = (JobResult.Timeout, $"the job exceeded its {Seconds(job.JobTimeout)} limit during this step; container killed");
            await KillContainerAsync(run);
        }
        catch (OperationCanceledException) when (stepTimeout.IsCancellationRequested)
        {
            (result, message) = (JobResult.Timeout, $"the step exceeded its {Seconds(step.Timeout)} limit; container killed");
            await KillContainerAsync(run);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            (result, message) = (JobResult.Error, Evidence(run, Describe(ex), exitCode));
        }

        TimeSpan duration = _timeProvider.GetElapsedTime(started);
        var outcome = new StepOutcome(phase.Name, index, step.Name, step.Kind, result, exitCode, startedAt, duration, message);
        run.Steps.Add(outcome);
        run.Changes.AddRange(changes);
        LogStepFinished(_logger, job.RunId, job.JobId, step.Name, result, exitCode, duration.TotalSeconds);

        // The step's end is recorded even when the job was cancelled: bounded by the cleanup timeout instead.
        using var record = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        await log.EventAsync(
            $"{label}: {Lower(result)}, exit {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {duration.TotalSeconds:F2} s" +
            (message is null ? "" : $" - {message}"),
            record.Token);
        await progress.StepFinishedAsync(job, outcome, changes, record.Token);
        return outcome;
    }

    /// <summary>Runs a command through exec, streaming its output into the job log, and returns its exit code.</summary>
    private async Task<long> ExecAsync(JobRun run, IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        ContainerExecCreateResponse exec = await _docker.Exec.CreateContainerExecAsync(
            run.ContainerId!,
            new ContainerExecCreateParameters { Cmd = command.ToList(), AttachStdout = true, AttachStderr = true },
            cancellationToken);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            using (MultiplexedStream stream = await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), cancellationToken))
            {
                while (true)
                {
                    MultiplexedStream.ReadResult read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
                    if (read.EOF)
                    {
                        break;
                    }

                    await run.Log!.OutputAsync(read.Target == MultiplexedStream.TargetStream.StandardError, buffer, read.Count, cancellationToken);
                }
            }

            await run.Log!.EndOutputAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return await WaitForExitCodeAsync(exec.ID, cancellationToken);
    }

    /// <summary>The output ends a moment before the engine records the exit code: poll briefly, bounded.</summary>
    private async Task<long> WaitForExitCodeAsync(string execId, CancellationToken cancellationToken)
    {
        long started = _timeProvider.GetTimestamp();
        TimeSpan interval = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            ContainerExecInspectResponse inspect = await _docker.Exec.InspectContainerExecAsync(execId, cancellationToken);
            if (!inspect.Running && inspect.ExitCode is long exitCode)
            {
                return exitCode;
            }

            if (_timeProvider.GetElapsedTime(started) > _options.ExitCodeTimeout)
            {
                throw new JobErrorException($"the engine reported no exit code for exec {Short(execId)} within {Seconds(_options.ExitCodeTimeout)} after its output ended");
            }

            await Task.Delay(interval, _timeProvider, cancellationToken);
            interval = TimeSpan.FromMilliseconds(Math.Min(interval.TotalMilliseconds * 2, 200));
        }
    }

    private async Task<(IReadOnlyList<IdempotencyChange> Changes, string? Error)> ReadChangesAsync(JobRun run, CancellationToken cancellationToken)
    {
        try
        {
            var parameters = new ContainerPathStatParameters { Path = StepCommands.LastRunReportPath };
            ContainerArchiveResponse archive = await _docker.Containers.GetArchiveFromContainerAsync(run.ContainerId!, parameters, false, cancellationToken);
            if (archive.Stream is null)
            {
                return ([], $"the engine returned no archive for {StepCommands.LastRunReportPath}");
            }

            // TarReader stops short on the engine's response stream read in place; a report is small, so buffer it.
            using var tar = new MemoryStream();
            await using (Stream response = archive.Stream)
            {
                await response.CopyToAsync(tar, cancellationToken);
            }

            tar.Position = 0;
            await using var reader = new TarReader(tar);
            TarEntry? entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken);
            if (entry?.DataStream is null)
            {
                return ([], $"{StepCommands.LastRunReportPath} is empty");
            }

            using var text = new StreamReader(entry.DataStream);
            string yaml = await text.ReadToEndAsync(cancellationToken);
            return (PuppetReportParser.ParseChanges(yaml), null);
        }
        catch (Exception ex) when (ex is DockerApiException or FormatException or InvalidDataException or IOException)
        {
            return ([], Describe(ex));
        }
    }

    private async Task<string> ResolveImageAsync(JobRun run, CancellationToken cancellationToken)
    {
        JobSpec job = run.Job;
        try
        {
            return (await _docker.Images.InspectImageAsync(job.Image, cancellationToken)).ID;
        }
        catch (DockerImageNotFoundException)
        {
            LogImageMissing(_logger, job.RunId, job.JobId, job.Image);
        }

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

    private async Task<string> CreateContainerAsync(JobSpec job, CancellationToken cancellationToken)
    {
        ContainerLimits limits = job.Limits;
        var parameters = new CreateContainerParameters
        {
            Image = job.Image,

            // A user entrypoint also drops the image's CMD, so nothing is appended to the keep-alive command.
            Entrypoint = _options.KeepAliveCommand.ToList(),
            Labels = job.ContainerLabelSet(),
            HostConfig = new HostConfig
            {
                NetworkMode = limits.NetworkMode,
                Memory = limits.MemoryBytes,

                // Equal to Memory: no swap on top of the limit, so a runaway job fails instead of thrashing.
                MemorySwap = limits.MemoryBytes,
                NanoCPUs = (long)(limits.Cpus * 1_000_000_000),
                PidsLimit = limits.PidsLimit,
                Privileged = false,

                // An init as PID 1 reaps the orphans of services Puppet starts, which would otherwise count against PidsLimit.
                Init = true,
            },
        };
        CreateContainerResponse created = await _docker.Containers.CreateContainerAsync(parameters, cancellationToken);
        return created.ID;
    }

    private static async Task<Stream?> PrepareArchiveAsync(JobSpec job, JobPhase phase, CancellationToken cancellationToken)
    {
        if (!phase.HasFiles)
        {
            return null;
        }

        // A module set can be tens of megabytes: spool it to a temporary file that deletes itself.
        string path = Path.Combine(Path.GetTempPath(), $"cirunner-{job.RunIdText}-{job.JobIdText}-{Guid.NewGuid():N}.tar");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await ModuleSetArchive.WriteAsync(file, phase.Modules, phase.ScenarioFiles, cancellationToken);
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    private async Task CopyFilesAsync(JobRun run, JobPhase phase, Stream archive, bool replace, CancellationToken cancellationToken)
    {
        if (replace)
        {
            // A later phase brings its own module set (the next release's): the previous one must not linger.
            run.Stage = $"removing the previous phase's files for phase {phase.Name}";
            long exit = await ExecAsync(run, ["sh", "-c", ReplaceFilesCommand], cancellationToken);
            if (exit != 0)
            {
                throw new JobErrorException($"`{ReplaceFilesCommand}` exited {exit} in image {run.Job.Image}");
            }
        }

        run.Stage = $"copying the files of phase {phase.Name} into the container";
        long size = archive.Length;
        await _docker.Containers.ExtractArchiveToContainerAsync(run.ContainerId!, new CopyToContainerParameters { Path = "/" }, archive, cancellationToken);
        await run.Log!.EventAsync(
            $"phase {phase.Name}: copied {phase.Modules.Count} module(s) and {phase.ScenarioFiles.Count} scenario file(s), {size / 1024.0:F0} KiB",
            cancellationToken);
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
            // Removal with force follows and kills it too; this only makes the stop prompt.
            LogCleanupFailed(_logger, run.Job.RunId, run.Job.JobId, run.ContainerId, "kill", ex.Message);
        }
    }

    private async Task RemoveContainerAsync(JobRun run)
    {
        if (run.ContainerId is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
        try
        {
            await _docker.Containers.RemoveContainerAsync(run.ContainerId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, timeout.Token);
            run.Removed = true;
        }
        catch (DockerContainerNotFoundException)
        {
            run.Removed = true;
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The orphan reaper removes it at the next start of this instance (it carries the instance label).
            LogCleanupFailed(_logger, run.Job.RunId, run.Job.JobId, run.ContainerId, "remove", ex.Message);
        }
    }

    private async Task<JobOutcome> FinishAsync(JobRun run, JobResult result, string summary)
    {
        JobOutcome outcome = Finish(run, result, summary);
        if (run.Log is not null)
        {
            using var timeout = new CancellationTokenSource(_options.CleanupTimeout, _timeProvider);
            try
            {
                string removal = run.ContainerId is null ? "" : run.Removed ? $"; container {Short(run.ContainerId)} removed" : $"; container {Short(run.ContainerId)} NOT removed";
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
        return new JobOutcome(result, summary, steps, run.Changes.ToList(), run.ImageId, run.ContainerId, run.StartedAt, duration);
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
        IOException => $"I/O failed (disk full, or the engine dropped the connection): {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

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

                if (step.Timeout <= TimeSpan.Zero)
                {
                    return $"step '{step.Name}' of phase {phase.Name} has no positive timeout";
                }
            }
        }

        return job.JobTimeout <= TimeSpan.Zero ? "the job has no positive timeout" : null;
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

        public bool Removed { get; set; }

        public List<StepOutcome> Steps { get; } = [];

        public List<IdempotencyChange> Changes { get; } = [];
    }
}

/// <summary>An infrastructure failure whose message already says what went wrong and what to do.</summary>
internal sealed class JobErrorException : Exception
{
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
