using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CiRunner.Matrix;

namespace CiRunner.Execution;

/// <summary>
/// What a phase of a job made of its node, as a hash: the release image's id, the init system, the network, and for
/// each phase up to it its name, module set (name and commit), scenario files (path and content), manifest and
/// steps (kind, name, command, timeout), plus the package snapshot once an upgrade phase is included. Two jobs
/// whose phases have the same key would leave the same file system, so one may start from the other's snapshot.
/// </summary>
internal static class PhaseSnapshotKey
{
    // Bumped when what a phase does beyond its inputs changes (the step script's phase switch, the facts copy),
    // so that snapshots made by an older CiRunner are not taken for new ones.
    private const string Version = "phase-snapshot/1";

    /// <summary>
    /// The key of phases 0 to <paramref name="phase"/> of <paramref name="job"/>; null when one of them has a module
    /// from a working copy (its content is not pinned by a commit, so nothing may be reused or shared).
    /// </summary>
    public static string? Compute(JobSpec job, int phase, string baseImageId, string? packageSnapshotId)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentOutOfRangeException.ThrowIfNegative(phase);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(phase, job.Phases.Count);
        var text = new StringBuilder();
        Line(text, Version);
        Line(text, "image", baseImageId);
        Line(text, "init", job.Init.ToString());
        Line(text, "network", job.Limits.NetworkMode);
        for (int p = 0; p <= phase; p++)
        {
            JobPhase current = job.Phases[p];
            Line(text, "phase", current.Name);
            if (p > 0 && packageSnapshotId is not null)
            {
                Line(text, "package-snapshot", packageSnapshotId);
            }

            foreach (ModuleSource module in current.Modules)
            {
                if (module is not GitModuleSource git)
                {
                    return null;
                }

                Line(text, "module", git.Name, git.CommitSha);
            }

            foreach (ScenarioFile file in current.ScenarioFiles)
            {
                Line(text, "file", file.RelativePath, Convert.ToHexStringLower(SHA256.HashData(file.ReadBytes())));
            }

            Line(text, "manifest", current.Manifest ?? "");
            foreach (StepDefinition step in current.Steps)
            {
                Line(text, "step", step.Kind.ToWire(), step.Name, step.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture));
                foreach (string argument in StepCommands.For(step, current.Manifest))
                {
                    Line(text, "argument", argument);
                }
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    // Each field is length-prefixed, so no value can run into the next.
    private static void Line(StringBuilder text, params string[] fields)
    {
        foreach (string field in fields)
        {
            text.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append(' ');
        }

        text.Append('\n');
    }
}
