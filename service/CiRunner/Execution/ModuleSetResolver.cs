using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Results;
using LibGit2Sharp;

namespace CiRunner.Execution;

/// <summary>A module set resolved to exact commits: what goes into the container, and the job's lockfile.</summary>
public sealed record ResolvedModuleSet(IReadOnlyList<ModuleSource> Sources, IReadOnlyList<JobModuleRecord> Lockfile);

/// <summary>
/// Turns a release's Puppetfile into exact commits, with the module under test replaced by the commit being
/// tested. Modules are read from the local mirrors (or, for repositories on this machine, from the repository
/// itself), so a job never touches the network.
/// </summary>
public sealed class ModuleSetResolver
{
    private readonly DataPaths _paths;

    public ModuleSetResolver(DataPaths paths)
    {
        _paths = paths;
    }

    /// <exception cref="ModuleSetException">A module has no local repository, or its ref or commit is not in it.</exception>
    public ResolvedModuleSet Resolve(Puppetfile puppetfile, TrackedModule? moduleUnderTest, string? commitUnderTest)
    {
        ArgumentNullException.ThrowIfNull(puppetfile);
        var sources = new List<ModuleSource>();
        var lockfile = new List<JobModuleRecord>();
        foreach (PuppetfileModule module in puppetfile.Modules)
        {
            bool underTest = moduleUnderTest is not null && commitUnderTest is not null && module.Name == moduleUnderTest.Name;
            string url = underTest ? moduleUnderTest!.Url : module.Git;
            string? reference = underTest ? commitUnderTest : module.Ref;
            string repository = LocalRepository(module.Name, url)
                ?? throw new ModuleSetException(
                    $"Module '{module.Name}' ({puppetfile.Path} line {module.Line}) has no local mirror at {MirrorPath(module.Name)}; the poller creates it (cirunner serve), or use a repository path on this machine as its :git.");
            string commit = ResolveCommit(repository, reference, module.Name);
            sources.Add(new GitModuleSource(module.Name, repository, commit));
            lockfile.Add(new JobModuleRecord(module.Name, url, reference, commit));
        }

        if (moduleUnderTest is not null && puppetfile.Find(moduleUnderTest.Name) is null)
        {
            throw new ModuleSetException($"Module '{moduleUnderTest.Name}' is under test but not in {puppetfile.Path}; add a 'mod' entry for it.");
        }

        return new ResolvedModuleSet(sources, lockfile);
    }

    /// <summary>Where the poller keeps a module's bare mirror.</summary>
    public string MirrorPath(string module) => Path.Combine(_paths.MirrorsDirectory, module + ".git");

    private string? LocalRepository(string module, string url)
    {
        string mirror = MirrorPath(module);
        if (Repository.IsValid(mirror))
        {
            return mirror;
        }

        string path = url.StartsWith("file://", StringComparison.Ordinal) ? new Uri(url).LocalPath : url;
        return Path.IsPathFullyQualified(path) && Repository.IsValid(path) ? path : null;
    }

    private static string ResolveCommit(string repositoryPath, string? reference, string module)
    {
        using var repository = new Repository(repositoryPath);
        if (reference is null)
        {
            return repository.Head.Tip?.Sha
                ?? throw new ModuleSetException($"Module '{module}': {repositoryPath} has no default branch to use; pin a :ref.");
        }

        foreach (string candidate in (string[])[$"refs/heads/{reference}", $"refs/tags/{reference}", $"refs/remotes/origin/{reference}", reference])
        {
            if (repository.Lookup(candidate) is GitObject found && found.Peel<Commit>() is Commit commit)
            {
                return commit.Sha;
            }
        }

        throw new ModuleSetException($"Module '{module}': '{reference}' is neither a branch, a tag nor a commit of {repositoryPath}.");
    }
}
