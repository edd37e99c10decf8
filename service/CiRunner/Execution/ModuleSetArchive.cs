using System.Formats.Tar;
using LibGit2Sharp;

namespace CiRunner.Execution;

/// <summary>A module set and scenario files laid out under <paramref name="Root"/> (<c>cirunner/</c>, <c>cirunner/phases/1/</c>).</summary>
public sealed record ModuleSetPart(string Root, IReadOnlyList<ModuleSource> Modules, IReadOnlyList<ScenarioFile> ScenarioFiles);

/// <summary>
/// Writes one tar stream with a job's files, laid out to be extracted at <c>/</c> in the job container:
/// <c>&lt;root&gt;modules/&lt;name&gt;/...</c> for each module and <c>&lt;root&gt;scenario/...</c> for the scenario files.
/// One archive means one copy through the engine's archive API, which also works against a remote engine.
/// </summary>
public static class ModuleSetArchive
{
    /// <summary>Where Puppet finds the job's files: <c>/cirunner/modules</c> and <c>/cirunner/scenario</c>.</summary>
    public const string RootEntry = "cirunner/";

    private const UnixFileMode DirectoryMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode FileMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode ExecutableMode = DirectoryMode;

    /// <summary>Writes one module set at <see cref="RootEntry"/> to <paramref name="destination"/>, which is left open.</summary>
    /// <exception cref="ModuleSetException">A module or scenario file cannot be read (missing repository, commit or path).</exception>
    public static Task WriteAsync(
        Stream destination,
        IReadOnlyList<ModuleSource> modules,
        IReadOnlyList<ScenarioFile> scenarioFiles,
        CancellationToken cancellationToken) =>
        WriteAsync(destination, [new ModuleSetPart(RootEntry, modules, scenarioFiles)], cancellationToken);

    /// <summary>Writes several module sets, each under its own root, to <paramref name="destination"/>, which is left open.</summary>
    /// <exception cref="ModuleSetException">A module or scenario file cannot be read (missing repository, commit or path).</exception>
    public static async Task WriteAsync(Stream destination, IReadOnlyList<ModuleSetPart> parts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(parts);

        // Entries carry a fixed time unless their source has one (a commit's time), so the archive of a commit is repeatable.
        DateTimeOffset fixedTime = DateTimeOffset.UnixEpoch;
        await using var writer = new TarWriter(destination, TarEntryFormat.Pax, leaveOpen: true);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (ModuleSetPart part in parts)
        {
            if (!part.Root.EndsWith('/') || part.Root.StartsWith('/'))
            {
                throw new ArgumentException($"Archive root '{part.Root}' must be relative and end with '/'.", nameof(parts));
            }

            string modulesEntry = part.Root + "modules/";
            string scenarioEntry = part.Root + "scenario/";
            await WriteParentsAsync(writer, directories, modulesEntry, fixedTime, cancellationToken);
            await WriteDirectoryAsync(writer, directories, modulesEntry, fixedTime, cancellationToken);
            await WriteDirectoryAsync(writer, directories, scenarioEntry, fixedTime, cancellationToken);
            await WritePartAsync(writer, directories, modulesEntry, scenarioEntry, part, fixedTime, cancellationToken);
        }
    }

    private static async Task WritePartAsync(
        TarWriter writer,
        HashSet<string> directories,
        string modulesEntry,
        string scenarioEntry,
        ModuleSetPart part,
        DateTimeOffset fixedTime,
        CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (ModuleSource module in part.Modules)
        {
            RequireSegment(module.Name, "module name");
            if (!seen.Add(module.Name))
            {
                throw new ModuleSetException($"Module '{module.Name}' appears twice in the module set.");
            }

            string prefix = $"{modulesEntry}{module.Name}/";
            switch (module)
            {
                case GitModuleSource git:
                    await WriteGitModuleAsync(writer, directories, prefix, git, cancellationToken);
                    break;
                case DirectoryModuleSource directory:
                    await WriteDirectoryModuleAsync(writer, directories, prefix, directory, cancellationToken);
                    break;
                default:
                    throw new ArgumentException($"Unknown module source {module.GetType().Name}.", nameof(part));
            }
        }

        foreach (ScenarioFile file in part.ScenarioFiles)
        {
            string relative = file.RelativePath.Replace('\\', '/');
            foreach (string segment in relative.Split('/'))
            {
                RequireSegment(segment, $"scenario file path '{file.RelativePath}'");
            }

            string entryName = scenarioEntry + relative;
            if (file.Text is not null)
            {
                // The lockfile's text: what the job recorded is what it runs, whatever the file holds now.
                await WriteParentsAsync(writer, directories, entryName, fixedTime, cancellationToken);
                using var text = new MemoryStream(file.ReadBytes());
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entryName) { Mode = FileMode, ModificationTime = fixedTime, DataStream = text }, cancellationToken);
                continue;
            }

            if (!File.Exists(file.SourcePath))
            {
                throw new ModuleSetException($"Scenario file '{file.SourcePath}' does not exist.");
            }

            await WriteParentsAsync(writer, directories, entryName, fixedTime, cancellationToken);
            await WriteFileAsync(writer, entryName, file.SourcePath, FileMode, File.GetLastWriteTimeUtc(file.SourcePath), cancellationToken);
        }
    }

    private static async Task WriteGitModuleAsync(TarWriter writer, HashSet<string> directories, string prefix, GitModuleSource source, CancellationToken cancellationToken)
    {
        Repository repository;
        try
        {
            repository = new Repository(source.RepositoryPath);
        }
        catch (Exception ex) when (ex is RepositoryNotFoundException or LibGit2SharpException)
        {
            throw new ModuleSetException($"Module '{source.Name}': '{source.RepositoryPath}' is not a git repository ({ex.Message}).", ex);
        }

        using (repository)
        {
            Commit? commit = repository.Lookup<Commit>(source.CommitSha);
            if (commit is null)
            {
                throw new ModuleSetException($"Module '{source.Name}': commit {source.CommitSha} is not in '{source.RepositoryPath}'.");
            }

            DateTimeOffset time = commit.Committer.When;
            await WriteDirectoryAsync(writer, directories, prefix, time, cancellationToken);
            await WriteTreeAsync(writer, directories, prefix, commit.Tree, time, cancellationToken);
        }
    }

    /// <summary>Walks a commit's tree straight from the object database: no working directory, modes and symlinks as git stores them.</summary>
    private static async Task WriteTreeAsync(TarWriter writer, HashSet<string> directories, string prefix, Tree tree, DateTimeOffset time, CancellationToken cancellationToken)
    {
        foreach (TreeEntry entry in tree)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = prefix + entry.Name;
            switch (entry.Mode)
            {
                case Mode.Directory:
                    await WriteDirectoryAsync(writer, directories, name + "/", time, cancellationToken);
                    await WriteTreeAsync(writer, directories, name + "/", (Tree)entry.Target, time, cancellationToken);
                    break;
                case Mode.SymbolicLink:
                    var linkBlob = (Blob)entry.Target;
                    string target = linkBlob.GetContentText();
                    await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = DirectoryMode, ModificationTime = time }, cancellationToken);
                    break;
                case Mode.NonExecutableFile:
                case Mode.NonExecutableGroupWritableFile:
                case Mode.ExecutableFile:
                    var blob = (Blob)entry.Target;
                    await using (Stream content = blob.GetContentStream())
                    {
                        var tarEntry = new PaxTarEntry(TarEntryType.RegularFile, name)
                        {
                            Mode = entry.Mode == Mode.ExecutableFile ? ExecutableMode : FileMode,
                            ModificationTime = time,
                            DataStream = content,
                        };
                        await writer.WriteEntryAsync(tarEntry, cancellationToken);
                    }

                    break;
                default:
                    // Submodules (gitlinks) have no content in this repository; Puppet modules do not use them.
                    break;
            }
        }
    }

    private static async Task WriteDirectoryModuleAsync(TarWriter writer, HashSet<string> directories, string prefix, DirectoryModuleSource source, CancellationToken cancellationToken)
    {
        var root = new DirectoryInfo(source.DirectoryPath);
        if (!root.Exists)
        {
            throw new ModuleSetException($"Module '{source.Name}': directory '{source.DirectoryPath}' does not exist.");
        }

        await WriteDirectoryAsync(writer, directories, prefix, root.LastWriteTimeUtc, cancellationToken);
        await WriteLocalTreeAsync(writer, directories, prefix, root, cancellationToken);
    }

    private static async Task WriteLocalTreeAsync(TarWriter writer, HashSet<string> directories, string prefix, DirectoryInfo directory, CancellationToken cancellationToken)
    {
        foreach (FileSystemInfo info in directory.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = prefix + info.Name;
            if (info.LinkTarget is not null)
            {
                // A working copy's symlinks stay symlinks, as git would check them out.
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = info.LinkTarget, Mode = DirectoryMode, ModificationTime = info.LastWriteTimeUtc }, cancellationToken);
            }
            else if (info is DirectoryInfo child)
            {
                if (string.Equals(child.Name, ".git", StringComparison.Ordinal))
                {
                    continue;
                }

                await WriteDirectoryAsync(writer, directories, name + "/", child.LastWriteTimeUtc, cancellationToken);
                await WriteLocalTreeAsync(writer, directories, name + "/", child, cancellationToken);
            }
            else if (info is FileInfo file)
            {
                UnixFileMode mode = OperatingSystem.IsWindows() ? FileMode : file.UnixFileMode;
                await WriteFileAsync(writer, name, file.FullName, mode, file.LastWriteTimeUtc, cancellationToken);
            }
        }
    }

    private static async Task WriteFileAsync(TarWriter writer, string entryName, string path, UnixFileMode mode, DateTimeOffset time, CancellationToken cancellationToken)
    {
        await using FileStream content = File.OpenRead(path);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, entryName) { Mode = mode, ModificationTime = time, DataStream = content };
        await writer.WriteEntryAsync(entry, cancellationToken);
    }

    private static async Task WriteParentsAsync(TarWriter writer, HashSet<string> directories, string entryName, DateTimeOffset time, CancellationToken cancellationToken)
    {
        int slash = entryName.IndexOf('/', StringComparison.Ordinal);
        while (slash >= 0 && slash < entryName.Length - 1)
        {
            await WriteDirectoryAsync(writer, directories, entryName[..(slash + 1)], time, cancellationToken);
            slash = entryName.IndexOf('/', slash + 1);
        }
    }

    private static async Task WriteDirectoryAsync(TarWriter writer, HashSet<string> directories, string entryName, DateTimeOffset time, CancellationToken cancellationToken)
    {
        if (directories.Add(entryName))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, entryName) { Mode = DirectoryMode, ModificationTime = time }, cancellationToken);
        }
    }

    private static void RequireSegment(string segment, string what)
    {
        if (string.IsNullOrEmpty(segment) || segment is "." or ".." || segment.Contains('/', StringComparison.Ordinal) || segment.Contains('\\', StringComparison.Ordinal))
        {
            throw new ModuleSetException($"Invalid {what}: '{segment}' must be a plain file or folder name.");
        }
    }
}

/// <summary>A module set cannot be assembled: a repository, commit or path is missing or invalid.</summary>
public sealed class ModuleSetException : Exception
{
    public ModuleSetException()
    {
    }

    public ModuleSetException(string message)
        : base(message)
    {
    }

    public ModuleSetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
