using System.Globalization;
using System.Text;

namespace CiRunner.Execution;

/// <summary>
/// The job container's main process: a POSIX <c>sh</c> script that runs the job's steps in order, so no step
/// costs an extra process launch through the engine (an exec costs about as much as a whole <c>docker run</c>
/// of a trivial command). The script prints a marker line before and after each step, on stdout and on stderr
/// (the engine copies the two pipes independently, so a marker on each stream partitions each stream's output),
/// then waits for the executor to answer <c>next</c> on stdin: every decision (pass or fail, reading Puppet's
/// report) stays in the executor, and a step never sees the executor's stdin. After the last step the script
/// exits by itself, so the container ends without a kill (see <see cref="EndsOnItsOwn(JobSpec, PhaseSnapshotPlan)"/>).
/// In a container that boots systemd (<see cref="JobSpec.Init"/>) the script is not PID 1 but runs beside systemd
/// (one exec), first waiting, bounded, until systemd is up (a <c>boot</c> marker with 0 or 1), and the container
/// is killed after the last step.
/// </summary>
internal static class StepScript
{
    /// <summary>Where each phase's files wait in the container until the phase starts.</summary>
    public const string PhasesDirectory = "/cirunner/phases";

    /// <summary>The shell every job image must have.</summary>
    public const string Shell = "/bin/sh";

    /// <summary>The answer that lets the script go on to the next phase or step.</summary>
    public static readonly byte[] Next = "next\n"u8.ToArray();

    private const char RecordSeparator = '\u001e';

    /// <summary>
    /// The archive folder of a phase's files (<c>cirunner/phases/&lt;job&gt;/&lt;n&gt;/</c>), moved into place when the phase
    /// starts. Per job: a container started from a phase snapshot still holds the later phases' files of the job that
    /// made it, which must not mix with its own.
    /// </summary>
    public static string PhaseArchiveRoot(JobSpec job, int phase)
    {
        ArgumentNullException.ThrowIfNull(job);
        return $"cirunner/phases/{job.JobIdText}/{phase.ToString(CultureInfo.InvariantCulture)}/";
    }

    /// <summary>The marker prefix for a job: a random nonce, so no step output can pass for a marker.</summary>
    public static string MarkerPrefix(string nonce) => $"{RecordSeparator}cirunner:{nonce}:";

    public static string Render(JobSpec job, string nonce) => Render(job, nonce, PhaseSnapshotPlan.None);

    /// <summary>
    /// The script of a job that runs its phases from <see cref="PhaseSnapshotPlan.StartPhase"/> on (the ones before
    /// came from a snapshot; their steps keep their indexes), and waits after the last step of each phase the plan
    /// saves, so that the executor commits the container while the phase's work is still in it.
    /// </summary>
    public static string Render(JobSpec job, string nonce, PhaseSnapshotPlan plan)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(plan);
        var script = new StringBuilder();
        script.Append("n='").Append(nonce).Append("'\n");
        script.Append("mark() { printf '\\n\\036cirunner:%s:%s\\n' \"$n\" \"$1\"; printf '\\n\\036cirunner:%s:%s\\n' \"$n\" \"$1\" >&2; }\n");

        // Without an answer (the executor died: stdin closed) the container stays until the orphan reaper removes it.
        script.Append("proceed() { IFS= read -r reply && [ \"$reply\" = next ] || exec sleep infinity; }\n");
        // puppet apply does no pluginsync, so modules' external facts (facts.d/, like openstacklib's
        // os_service_default) are installed where Facter reads them, as an agent run would.
        script.Append("facts() { for f in /cirunner/modules/*/facts.d/*; do [ -f \"$f\" ] || continue; mkdir -p /etc/facter/facts.d && cp \"$f\" /etc/facter/facts.d/; done; }\n");
        string phases = $"{PhasesDirectory}/{job.JobIdText}";
        script.Append("phase() { rm -rf /cirunner/modules /cirunner/scenario && mv \"").Append(phases).Append("/$1/modules\" /cirunner/modules && mv \"")
            .Append(phases).Append("/$1/scenario\" /cirunner/scenario; rc=$?; facts; mark \"phase:$1:$rc\"; proceed; }\n");
        if (plan.From is not null)
        {
            // The snapshot holds the files the job that made it had not used yet.
            script.Append("for d in ").Append(PhasesDirectory).Append("/*; do [ \"$d\" = \"").Append(phases).Append("\" ] || rm -rf \"$d\"; done\n");
        }

        script.Append("step() { i=$1; shift; mark \"start:$i\"; \"$@\" </dev/null; rc=$?; mark \"end:$i:$rc\"; }\n");
        if (job.Init == Matrix.InitSystem.Systemd)
        {
            script.Append(SystemdContainer.BootFunction(job.BootTimeout));
            script.Append("boot; mark \"boot:$boot_rc\"; proceed\n");
        }

        int index = job.Phases.Take(plan.StartPhase).Sum(p => p.Steps.Count);
        int total = job.Phases.Sum(p => p.Steps.Count);
        for (int p = plan.StartPhase; p < job.Phases.Count; p++)
        {
            JobPhase phase = job.Phases[p];
            if (phase.HasFiles)
            {
                script.Append("phase ").Append(p.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            for (int i = 0; i < phase.Steps.Count; i++)
            {
                Matrix.StepDefinition step = phase.Steps[i];
                script.Append("step ").Append(index.ToString(CultureInfo.InvariantCulture));
                foreach (string argument in StepCommands.For(step, phase.Manifest))
                {
                    script.Append(' ').Append(Quote(argument));
                }

                script.Append('\n');
                index++;

                // After the last step the script ends by itself (and the engine removes the container), unless the
                // step leaves files to read (Puppet's report, Tempest's results) that must stay until the executor is done.
                // It also waits after a phase that is saved: the executor commits the container meanwhile.
                bool last = index == total;
                if (!last || StepCommands.LeavesFilesToRead(step.Kind) || (i == phase.Steps.Count - 1 && plan.Saves(p)))
                {
                    script.Append("proceed\n");
                }
            }
        }

        script.Append(EndsOnItsOwn(job, plan) ? "exit 0\n" : "exec sleep infinity\n");
        return script.ToString();
    }

    /// <summary>As <see cref="EndsOnItsOwn(JobSpec)"/>, and never when the last phase is saved (the container is committed after it).</summary>
    public static bool EndsOnItsOwn(JobSpec job, PhaseSnapshotPlan plan)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(plan);
        return EndsOnItsOwn(job) && !plan.Saves(job.Phases.Count - 1);
    }

    /// <summary>
    /// Whether the container ends by itself after the last step, without waiting for the executor (see
    /// <see cref="Render(JobSpec, string, PhaseSnapshotPlan)"/>); never when it boots systemd, which runs until it is killed.
    /// </summary>
    public static bool EndsOnItsOwn(JobSpec job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Init == Matrix.InitSystem.Systemd)
        {
            return false;
        }

        Matrix.StepDefinition? last = job.Phases.SelectMany(p => p.Steps).LastOrDefault();
        return last is not null && !StepCommands.LeavesFilesToRead(last.Kind);
    }

    /// <summary>Single-quotes an argument for sh: nothing inside single quotes is special except the quote itself.</summary>
    public static string Quote(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        return "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>Reads a marker line; null for ordinary output.</summary>
    public static StepMarker? Parse(string line, string markerPrefix)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!line.StartsWith(markerPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        string[] fields = line[markerPrefix.Length..].Split(':');
        return fields switch
        {
            ["start", string i] when Number(i) is int index => new StepMarker(StepMarkerKind.Start, index, null),
            ["end", string i, string rc] when Number(i) is int index && Number(rc) is int exit => new StepMarker(StepMarkerKind.End, index, exit),
            ["phase", string p, string rc] when Number(p) is int phase && Number(rc) is int exit => new StepMarker(StepMarkerKind.Phase, phase, exit),
            ["boot", string rc] when Number(rc) is int exit => new StepMarker(StepMarkerKind.Boot, 0, exit),
            _ => null,
        };
    }

    private static int? Number(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : null;
}

internal enum StepMarkerKind
{
    /// <summary>A phase's files were moved into place (exit status of the move).</summary>
    Phase,
    Start,
    End,

    /// <summary>systemd is up (exit 0) or did not come up in time (exit 1); only in containers that boot it.</summary>
    Boot,
}

/// <summary>A marker line of <see cref="StepScript"/>: the phase or step index, and an exit code for phase and end markers.</summary>
internal sealed record StepMarker(StepMarkerKind Kind, int Index, int? ExitCode)
{
    /// <summary>The same marker arrives on stdout and on stderr; this identifies the pair.</summary>
    public string Key => $"{Kind}:{Index}";
}
