using System.Buffers;
using System.Formats.Tar;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>
/// A short container CiRunner runs for its own work (listing, building and checking package snapshots): what it runs
/// and with what.
/// </summary>
/// <param name="Image">Image reference or id.</param>
/// <param name="Command">The entrypoint and its arguments (the image's CMD is dropped).</param>
/// <param name="Purpose">The <see cref="ContainerLabels.Throwaway"/> label's value.</param>
internal sealed record ThrowawayRun(string Image, IReadOnlyList<string> Command, string Purpose)
{
    /// <summary>The container's network: <c>none</c> unless it downloads.</summary>
    public string NetworkMode { get; init; } = "none";

    /// <summary>Labels on top of <see cref="ContainerLabels.Managed"/> and <see cref="ContainerLabels.Throwaway"/>.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Volumes mounted into it.</summary>
    public IReadOnlyList<Mount> Mounts { get; init; } = [];

    /// <summary><c>NAME=value</c> entries.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    /// <summary>Files copied in through the archive API before it starts: absolute path and content.</summary>
    public IReadOnlyList<(string Path, byte[] Content)> Files { get; init; } = [];

    /// <summary>How long it may run before it is killed and the run fails with a <see cref="TimeoutException"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether <see cref="ThrowawayResult.StandardOutput"/> keeps the whole standard output.</summary>
    public bool CaptureStandardOutput { get; init; }
}

/// <summary>How a throwaway container ended.</summary>
/// <param name="ContainerId">Its id (it is removed by now).</param>
/// <param name="ExitCode">Its main process's exit code.</param>
/// <param name="StandardOutput">Its whole standard output when asked for, else empty.</param>
/// <param name="StandardErrorLines">Its standard error, line by line.</param>
/// <param name="Tail">The last lines of both streams, in order.</param>
internal sealed record ThrowawayResult(string ContainerId, long ExitCode, string StandardOutput, IReadOnlyList<string> StandardErrorLines, IReadOnlyList<string> Tail);

/// <summary>
/// Runs a <see cref="ThrowawayRun"/>: create (labelled as CiRunner's), copy files in, attach, start, read its output
/// to the end, wait for its exit code, and remove it on every path, also when it fails, times out or is cancelled.
/// </summary>
internal static class ThrowawayContainer
{
    // Creating and removing a container takes well under a second; the bound is for an engine that stopped answering.
    private static readonly TimeSpan EngineCallTimeout = TimeSpan.FromSeconds(30);

    public static async Task<ThrowawayResult> RunAsync(IDockerClient docker, ThrowawayRun run, TimeProvider timeProvider, IProgress<string>? output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(docker);
        ArgumentNullException.ThrowIfNull(run);
        var labels = new Dictionary<string, string>(run.Labels, StringComparer.Ordinal)
        {
            [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
            [ContainerLabels.Throwaway] = run.Purpose,
        };
        var parameters = new CreateContainerParameters
        {
            Image = run.Image,
            Entrypoint = [.. run.Command],
            Labels = labels,
            Env = [.. run.Environment],
            User = "0",
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfig
            {
                NetworkMode = run.NetworkMode,
                Mounts = [.. run.Mounts],
                Privileged = false,
                SecurityOpt = ["no-new-privileges"],

                // Removed by this code once its exit code is read; the engine's auto-removal would race the wait.
                AutoRemove = false,
            },
        };

        cancellationToken.ThrowIfCancellationRequested();
        var container = new ManagedContainer(docker, timeProvider, EngineCallTimeout);
        string containerId = await container.CreateAsync(parameters);
        using var timeout = new CancellationTokenSource(run.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            if (run.Files.Count > 0)
            {
                await using MemoryStream archive = await ArchiveAsync(run.Files, linked.Token);
                await docker.Containers.ExtractArchiveToContainerAsync(containerId, new CopyToContainerParameters { Path = "/" }, archive, linked.Token);
            }

            // Attached before the start, so not a line is missed.
            using MultiplexedStream stream = await docker.Containers.AttachContainerAsync(
                containerId,
                new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true },
                linked.Token);
            await container.StartAsync(linked.Token);
            (string standardOutput, List<string> errors, IReadOnlyList<string> tail) = await ReadAsync(stream, run.CaptureStandardOutput, output, linked.Token);
            ContainerWaitResponse exit = await docker.Containers.WaitContainerAsync(containerId, linked.Token);
            return new ThrowawayResult(containerId, exit.StatusCode, standardOutput, errors, tail);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"container {containerId[..Math.Min(12, containerId.Length)]} of {run.Image} ({run.Purpose}) ran longer than {run.Timeout} and was removed");
        }
        finally
        {
            await container.RemoveAsync();
        }
    }

    /// <summary>Removes (with force) the exited throwaway containers a process that died left; running ones may be another process's.</summary>
    public static async Task<int> RemoveExitedAsync(IDockerClient docker, string purpose, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(docker);
        Dictionary<string, IDictionary<string, bool>> filters = ContainerLabels.Filter([$"{ContainerLabels.Managed}={ContainerLabels.ManagedValue}", $"{ContainerLabels.Throwaway}={purpose}"]);
        filters["status"] = new Dictionary<string, bool>(StringComparer.Ordinal) { ["exited"] = true, ["created"] = true, ["dead"] = true };
        var parameters = new ContainersListParameters { All = true, Filters = filters };
        IList<ContainerListResponse> leftovers = await docker.Containers.ListContainersAsync(parameters, cancellationToken);
        foreach (ContainerListResponse leftover in leftovers)
        {
            await ManagedContainer.Existing(docker, timeProvider, EngineCallTimeout, leftover.ID).RemoveAsync();
        }

        return leftovers.Count;
    }

    private static async Task<(string StandardOutput, List<string> Errors, IReadOnlyList<string> Tail)> ReadAsync(
        MultiplexedStream stream, bool capture, IProgress<string>? output, CancellationToken cancellationToken)
    {
        var log = new BuildOutput(output);
        var standardOutput = new StringBuilder();
        var errors = new List<string>();
        Utf8LineSplitter[] splitters = [new(), new()];
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                MultiplexedStream.ReadResult read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
                if (read.EOF)
                {
                    break;
                }

                bool isError = read.Target == MultiplexedStream.TargetStream.StandardError;
                foreach (string line in splitters[isError ? 1 : 0].Push(buffer, read.Count))
                {
                    Take(line, isError);
                }
            }

            for (int i = 0; i < splitters.Length; i++)
            {
                if (splitters[i].Drain() is { Length: > 0 } last)
                {
                    Take(last, isError: i == 1);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (standardOutput.ToString(), errors, log.Tail());

        void Take(string line, bool isError)
        {
            if (isError)
            {
                errors.Add(line);
            }
            else if (capture)
            {
                standardOutput.Append(line).Append('\n');

                // A captured output is data (a package list), not progress worth showing line by line.
                return;
            }

            log.Add(line);
        }
    }

    private static async Task<MemoryStream> ArchiveAsync(IReadOnlyList<(string Path, byte[] Content)> files, CancellationToken cancellationToken)
    {
        var archive = new MemoryStream();
        await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string path, byte[] content) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path.TrimStart('/'))
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
                    DataStream = new MemoryStream(content, writable: false),
                };
                await writer.WriteEntryAsync(entry, cancellationToken);
            }
        }

        archive.Position = 0;
        return archive;
    }
}
