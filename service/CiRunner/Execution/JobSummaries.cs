using System.Globalization;
using System.Net.Sockets;
using Docker.DotNet;

namespace CiRunner.Execution;

/// <summary>
/// The texts a job's outcome is told in: the one-line summary of how it ended (with Puppet's own error lines for a
/// failed step, and the container, image and last output as evidence for an error), what an exception means, and the
/// short forms of ids, durations and names the job log uses.
/// </summary>
internal static class JobSummaries
{
    /// <summary>The summary of a job whose steps all passed.</summary>
    public static string Success(int steps) => $"success: {steps} step(s) passed";

    /// <summary>The summary of a job that ended at <paramref name="step"/>; a failure quotes up to three of Puppet's error lines from <paramref name="tail"/>.</summary>
    public static string Step(StepOutcome step, IReadOnlyList<string> tail)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(tail);
        string where = $"step '{step.Name}' ({step.Kind.ToWire()}, phase {step.Phase})";
        string text = $"{step.Result.ToWire()}: {where}: {step.Message}";
        if (step.Result == JobResult.Failure)
        {
            // Puppet's own error lines say more than any exit code.
            List<string> errors = tail
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

    /// <summary>An error's cause with its evidence: the container (or none), the image, the exit code if any and the last output.</summary>
    public static string Evidence(string cause, string? containerId, string image, long? exitCode, IReadOnlyList<string> tail)
    {
        ArgumentNullException.ThrowIfNull(tail);
        string container = containerId is null ? "no container" : $"container {Short(containerId)}";
        string exit = exitCode is null ? "" : $", exit {exitCode}";
        return $"{cause}\n({container}, image {image}{exit})" + (tail.Count == 0 ? "" : "\nlast output:\n" + string.Join('\n', tail));
    }

    /// <summary>What an exception that ended a job means, in words that say what to do where there is something to do.</summary>
    public static string Describe(Exception failure)
    {
        Exception ex = EngineTransport.Unwrap(failure);
        return ex switch
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
    }

    /// <summary>
    /// What a job's container started from, for the job log: the release image's id, or the phase snapshot
    /// <paramref name="from"/> (short id and tag) and the release image it grew from (name and id).
    /// </summary>
    public static string StartedFrom(JobSpec job, string? imageId, PhaseSnapshot? from)
    {
        ArgumentNullException.ThrowIfNull(job);
        string release = imageId ?? job.Image;
        return from is null
            ? release
            : $"phase snapshot {Short(from.ImageId)} ({PhaseSnapshotImages.Repository}:{from.Key}) of release image {job.Image} ({release})";
    }

    /// <summary>A container or image id as <c>docker ps</c> shows it (12 hex digits).</summary>
    public static string Short(string id) => id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..19] : id[..Math.Min(12, id.Length)];

    public static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    /// <summary>A command as the log shows it: arguments with whitespace (or empty) in single quotes.</summary>
    public static string Quote(IReadOnlyList<string> command) =>
        string.Join(' ', command.Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"'{a}'" : a));

    // ENOSPC (28) on Linux; ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL on Windows, where HResult wraps the code.
    private static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) is 28 or 39 or 112;
}
