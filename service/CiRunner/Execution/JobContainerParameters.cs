using CiRunner.Matrix;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>
/// The create request of a job's container: the job's labels and limits, the step script as its main process (or
/// systemd, with the script run beside it later), and the package snapshot mounted read-only when the job needs one.
/// </summary>
internal static class JobContainerParameters
{
    /// <summary>The name the step script runs under (<c>$0</c>), in the entrypoint and in the exec beside systemd.</summary>
    public const string ScriptName = "cirunner-steps";

    /// <param name="job">The job.</param>
    /// <param name="script">The rendered step script (<see cref="StepScript.Render(JobSpec, string, PhaseSnapshotPlan)"/>).</param>
    /// <param name="cgroupVersion">The engine's cgroup version, for a job that boots systemd; "1" when null.</param>
    /// <param name="snapshot">The package snapshot the container mounts; null for none.</param>
    public static CreateContainerParameters Build(JobSpec job, string script, string? cgroupVersion, PackageSnapshotInfo? snapshot)
    {
        ArgumentNullException.ThrowIfNull(job);
        ContainerLimits limits = job.Limits;
        var parameters = new CreateContainerParameters
        {
            Image = job.Image,

            // A user entrypoint also drops the image's CMD, so nothing is appended to the script's arguments.
            Entrypoint = [StepScript.Shell, "-c", script, ScriptName],
            Labels = job.ContainerLabelSet(),
            Env = [.. job.Environment()],

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

        return parameters;
    }

    /// <summary>The labels that find the job's container again when its create request ended without an id.</summary>
    public static IReadOnlyDictionary<string, string> FindAgainLabels(JobSpec job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ContainerLabels.Instance] = job.InstanceId,
            [ContainerLabels.Job] = job.JobIdText,
        };
    }
}
