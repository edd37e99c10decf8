namespace CiRunner.Execution;

/// <summary>The one archive of a job's files (every phase's module set and scenario files) copied into its container before it starts.</summary>
internal static class JobArchive
{
    /// <summary>One archive with every phase's files, each under <see cref="StepScript.PhaseArchiveRoot"/>; null when no phase has files.</summary>
    public static Task<Stream?> PrepareAsync(JobSpec job, CancellationToken cancellationToken) => PrepareAsync(job, 0, cancellationToken);

    /// <summary>As <see cref="PrepareAsync(JobSpec, CancellationToken)"/>, with the phases from <paramref name="startPhase"/> on (the earlier ones came from a snapshot).</summary>
    public static async Task<Stream?> PrepareAsync(JobSpec job, int startPhase, CancellationToken cancellationToken)
    {
        List<ModuleSetPart> parts = Copied(job, startPhase)
            .Select(p => new ModuleSetPart(StepScript.PhaseArchiveRoot(job, p.Index), p.Phase.Modules, p.Phase.ScenarioFiles))
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

    /// <summary>What the archive of <see cref="PrepareAsync(JobSpec, int, CancellationToken)"/> holds, for the job log: <c>2 module(s) and 1 scenario file(s)</c>.</summary>
    public static string Contents(JobSpec job, int startPhase)
    {
        List<JobPhase> copied = Copied(job, startPhase).Select(p => p.Phase).ToList();
        return $"{copied.Sum(p => p.Modules.Count)} module(s) and {copied.Sum(p => p.ScenarioFiles.Count)} scenario file(s)";
    }

    /// <summary>The phases whose files go into the container: from <paramref name="startPhase"/> on, those that have any.</summary>
    private static IEnumerable<(JobPhase Phase, int Index)> Copied(JobSpec job, int startPhase) =>
        job.Phases.Select((phase, index) => (phase, index)).Where(p => p.index >= startPhase && p.phase.HasFiles);

    /// <summary>Lets an archive still being written end, then drops it (the job ended before it was used, or is done with it).</summary>
    public static async Task DiscardAsync(Task<Stream?> archive)
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
}
