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
            List<string> repositories = LocalRepositories(module.Name, url);
            if (repositories.Count == 0)
            {
                throw new ModuleSetException(
                    $"Module '{module.Name}' ({puppetfile.Path} line {module.Line}) has no local mirror at {MirrorPath(module.Name)}; the poller creates it (cirunner serve), or use a repository path on this machine as its :git.");
            }

            (string repository, string commit) = ResolveCommit(repositories, reference, module.Name);
            sources.Add(new GitModuleSource(module.Name, repository, commit));
            lockfile.Add(new JobModuleRecord(module.Name, url, reference, commit));
        }

        if (moduleUnderTest is not null && puppetfile.Find(moduleUnderTest.Name) is null)
        {
            throw new ModuleSetException($"Module '{moduleUnderTest.Name}' is under test but not in {puppetfile.Path}; add a 'mod' entry for it.");
        }

        return new ResolvedModuleSet(sources, lockfile);
    }

    /// <summary>
    /// A module at exactly the commit a lockfile names, for a replay: never a branch's head, never anything newer.
    /// </summary>
    /// <exception cref="ModuleSetException">The commit is in no local repository of the module; the message says how to bring it back.</exception>
    public GitModuleSource ResolveExact(JobModuleRecord locked)
    {
        ArgumentNullException.ThrowIfNull(locked);
        List<string> repositories = LocalRepositories(locked.Module, locked.GitUrl);
        foreach (string repositoryPath in repositories)
        {
            using var repository = new Repository(repositoryPath);
            if (repository.Lookup<Commit>(locked.CommitSha) is not null)
            {
                return new GitModuleSource(locked.Module, repositoryPath, locked.CommitSha);
            }
        }

        string where = repositories.Count == 0 ? $"there is no mirror of module '{locked.Module}' at {MirrorPath(locked.Module)}" : $"it is no longer in the mirror of module '{locked.Module}' ({string.Join(" or ", repositories)})";
        throw new ModuleSetException(
            $"Commit {locked.CommitSha} of module '{locked.Module}' ({locked.Phase} phase) is gone: {where}; bring it back by pushing it to a branch or tag of {UrlCredentials.Redact(locked.GitUrl)} so that the mirror fetches it (the poll of cirunner serve, or cirunner run --ref), then replay again.");
    }

    /// <summary>
    /// The first-parent history from <paramref name="goodSha"/> (position 0) to <paramref name="badSha"/>: what a bisect
    /// searches. First parents only, as a branch's history reads: a merged topic branch counts as its merge commit.
    /// </summary>
    /// <param name="module">The module (its mirror is looked in first).</param>
    /// <param name="gitUrl">Its URL, for a repository on this machine.</param>
    /// <param name="goodSha">The last commit known good.</param>
    /// <param name="badSha">The first commit known bad.</param>
    /// <param name="maxCommits">The longest history accepted.</param>
    /// <exception cref="ModuleSetException">A commit is in no local repository, or the good one is not a first-parent ancestor of the bad one.</exception>
    public IReadOnlyList<Results.BisectCommit> FirstParentHistory(string module, string gitUrl, string goodSha, string badSha, int maxCommits = 10_000)
    {
        List<string> repositories = LocalRepositories(module, gitUrl);
        foreach (string repositoryPath in repositories)
        {
            using var repository = new Repository(repositoryPath);
            if (LookupCommit(repository, badSha) is not { } bad || LookupCommit(repository, goodSha) is not { } good)
            {
                continue;
            }

            var newestFirst = new List<Commit>();
            for (Commit? at = bad; at is not null; at = at.Parents.FirstOrDefault())
            {
                if (at.Sha == good.Sha)
                {
                    newestFirst.Add(at);
                    newestFirst.Reverse();
                    return newestFirst.Select((c, i) => new Results.BisectCommit(i, c.Sha, $"{c.Author.Name} <{c.Author.Email}>", c.MessageShort)).ToList();
                }

                if (newestFirst.Count > maxCommits)
                {
                    break;
                }

                newestFirst.Add(at);
            }

            throw new ModuleSetException($"Commit {goodSha} of module '{module}' is not a first-parent ancestor of {badSha} (within {maxCommits} commits) in {repositoryPath}; give a good commit on the bad commit's branch.");
        }

        string where = repositories.Count == 0 ? $"there is no mirror of module '{module}' at {MirrorPath(module)}" : string.Join(" or ", repositories);
        throw new ModuleSetException($"Commits {goodSha} and {badSha} of module '{module}' are not both in {where}; check the SHAs (git log of the module's branch), or let the service's poll fetch them first.");
    }

    /// <summary>A commit by its full or abbreviated id; null for anything else (a name libgit2 cannot parse, an ambiguous prefix).</summary>
    private static Commit? LookupCommit(Repository repository, string sha)
    {
        try
        {
            return repository.Lookup<Commit>(sha);
        }
        catch (LibGit2SharpException)
        {
            return null;
        }
    }

    /// <summary>The commit a branch of a module points at, in its mirror or its repository on this machine; null when neither has the branch.</summary>
    public string? BranchHead(string module, string gitUrl, string branch) =>
        LocalRepositories(module, gitUrl).Select(repository => FindCommit(repository, branch)).FirstOrDefault(commit => commit is not null);

    /// <summary>Where the poller keeps a module's bare mirror.</summary>
    public string MirrorPath(string module) => Path.Combine(_paths.MirrorsDirectory, module + ".git");

    /// <summary>
    /// The mirror first, then a repository on this machine named by the URL: the mirror may exist before its first
    /// fetch has finished (the service's first poll), and a local repository has every commit anyway.
    /// </summary>
    private List<string> LocalRepositories(string module, string url)
    {
        var repositories = new List<string>();
        string mirror = MirrorPath(module);
        if (Repository.IsValid(mirror))
        {
            repositories.Add(mirror);
        }

        string path = url.StartsWith("file://", StringComparison.Ordinal) ? new Uri(url).LocalPath : url;
        if (Path.IsPathFullyQualified(path) && Repository.IsValid(path))
        {
            repositories.Add(path);
        }

        return repositories;
    }

    private static (string Repository, string Commit) ResolveCommit(List<string> repositories, string? reference, string module)
    {
        foreach (string repositoryPath in repositories)
        {
            if (FindCommit(repositoryPath, reference) is { } commit)
            {
                return (repositoryPath, commit);
            }
        }

        throw new ModuleSetException(reference is null
            ? $"Module '{module}': {repositories[0]} has no default branch to use; pin a :ref."
            : $"Module '{module}': '{reference}' is neither a branch, a tag nor a commit of {string.Join(" or ", repositories)}.");
    }

    private static string? FindCommit(string repositoryPath, string? reference)
    {
        using var repository = new Repository(repositoryPath);
        if (reference is null)
        {
            return repository.Head.Tip?.Sha;
        }

        foreach (string candidate in (string[])[$"refs/heads/{reference}", $"refs/tags/{reference}", $"refs/remotes/origin/{reference}", reference])
        {
            if (repository.Lookup(candidate) is GitObject found && found.Peel<Commit>() is Commit commit)
            {
                return commit.Sha;
            }
        }

        return null;
    }
}
