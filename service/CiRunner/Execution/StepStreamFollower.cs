using System.Buffers;
using CiRunner.Matrix;
using Docker.DotNet;
using Docker.DotNet.Models;
using static CiRunner.Execution.JobSummaries;

namespace CiRunner.Execution;

/// <summary>
/// Follows the step script's output stream until the job's end (the executor's side of <see cref="StepScript"/>'s
/// protocol): output lines go to the job log, markers start and end steps (through <see cref="StepOutcomes"/>), and
/// after each the script is told to go on. Bounds each step, and the boot of systemd, with its own timer. A step in
/// flight when something goes wrong (timeout, cancellation, a broken stream) ends with that cause.
/// </summary>
internal sealed class StepStreamFollower
{
    /// <summary>What the executor allows beyond the script's own bounded wait for systemd before it gives up on the script.</summary>
    private static readonly TimeSpan BootTimeoutMargin = TimeSpan.FromSeconds(15);

    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ExecutorOptions _options;
    private readonly StepOutcomes _steps;
    private readonly PhaseSnapshotter? _snapshots;

    public StepStreamFollower(IDockerClient docker, TimeProvider timeProvider, ExecutorOptions options, StepOutcomes steps, PhaseSnapshotter? snapshots = null)
    {
        _snapshots = snapshots;
        _docker = docker;
        _timeProvider = timeProvider;
        _options = options;
        _steps = steps;
    }

    /// <summary>Reads <paramref name="stream"/> (the script's stdin, stdout and stderr) until the job ends; the result and summary of the job.</summary>
    public async Task<(JobResult Result, string Summary)> FollowAsync(JobRun run, MultiplexedStream stream, string markerPrefix, IJobProgress progress, JobTokens tokens)
    {
        JobLog log = run.Log!;
        List<(JobPhase Phase, StepDefinition Step)> steps = run.Job.Phases.SelectMany(p => p.Steps.Select(s => (p, s))).ToList();
        List<(int Phase, bool LastOfPhase)> places = run.Job.Phases.SelectMany((p, index) => p.Steps.Select((_, i) => (index, i == p.Steps.Count - 1))).ToList();
        var reader = new StepOutputReader(markerPrefix);
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
                    foreach (StepOutput output in reader.End())
                    {
                        await log.OutputAsync(output.IsStderr, output.Line);
                    }

                    await log.FlushAsync(tokens.Job);
                    throw new JobErrorException(run.Job.Init == InitSystem.Systemd
                        ? "the step script (run beside systemd) ended before the job did (the container was killed, ran out of memory or the engine stopped)"
                        : $"the container's main process ended before the job did (killed, out of memory, the engine stopped, or no {StepScript.Shell} in the image)")
                    {
                        ContainerEnded = true,
                    };
                }

                foreach (StepOutput output in reader.Read(buffer, read.Count, read.Target == MultiplexedStream.TargetStream.StandardError))
                {
                    if (output.Marker is not { } marker)
                    {
                        current?.PackageInstall.Observe(output.Line);
                        await log.OutputAsync(output.IsStderr, output.Line);
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
                            current = await _steps.StartAsync(run, steps[marker.Index].Phase, steps[marker.Index].Step, marker.Index, progress, tokens.Job);
                            stepTimer.CancelAfter(current.Step.Timeout);
                            break;
                        case StepMarkerKind.End:
                            stepTimer.CancelAfter(Timeout.InfiniteTimeSpan);
                            StepRun ended = current ?? throw new JobErrorException($"step {marker.Index} ended without starting");
                            current = null;
                            run.Container.EndsOnItsOwn = marker.Index == steps.Count - 1 && StepScript.EndsOnItsOwn(run.Job, run.Plan);
                            StepOutcome outcome = await _steps.FinishAsync(run, ended, marker.ExitCode!.Value, progress, reading.Token);
                            if (outcome.Result != JobResult.Success)
                            {
                                return (outcome.Result, _steps.Summary(run, outcome));
                            }

                            // A saved phase ended green: its work is committed while the script waits for the answer.
                            (int phaseIndex, bool lastOfPhase) = places[marker.Index];
                            if (lastOfPhase && run.Plan.Saves(phaseIndex) && _snapshots is not null
                                && await _snapshots.SaveAsync(run, phaseIndex, tokens.Job) is { } made)
                            {
                                run.PhaseSnapshots.Add(made);
                            }

                            if (marker.Index == steps.Count - 1)
                            {
                                return (JobResult.Success, JobSummaries.Success(run.TotalSteps));
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
                    (result, message) = (JobResult.Error, run.Evidence(Describe(ex), exitCode: null, _options.EvidenceLines));
                    break;
            }

            if (result != JobResult.Error)
            {
                await run.Container.KillAsync();
            }

            StepOutcome outcome = await _steps.RecordAsync(run, interrupted, result, null, message, [], progress);
            return (result, _steps.Summary(run, outcome));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            text = $"(the journal could not be read: {ex.Message})";
        }

        await run.Log.EventAsync("journal (last 40 lines):\n" + text, timeout.Token);
        foreach (string line in text.Split('\n').TakeLast(_options.EvidenceLines))
        {
            await run.Log.OutputAsync(isStderr: false, line);
        }
    }
}
