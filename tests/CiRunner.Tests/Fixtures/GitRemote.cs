using LibGit2Sharp;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A git repository in a temp folder that plays a module's remote. Commits are written straight into its object
/// database and refs (no work tree, no checkout), which is what a push leaves behind: new commits, moved or
/// deleted branches, a force push, Gerrit patch-set refs.
/// </summary>
public sealed class GitRemote : IDisposable
{
    private static readonly Signature Author = new("CiRunner Tests", "tests@cirunner.invalid", new DateTimeOffset(2025, 4, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _folder = new();
    private int _sequence;

    public GitRemote()
    {
        Repository.Init(Path, isBare: true);
    }

    public string Path => _folder.Path;

    /// <summary>A new commit on top of <paramref name="branch"/> (or a root commit when the branch is new); the branch moves to it.</summary>
    public string Commit(string branch, string message = "change")
    {
        using var repository = new Repository(Path);
        Commit? tip = repository.Branches[branch]?.Tip;
        Commit commit = CreateCommit(repository, message, tip is null ? [] : [tip]);
        repository.Refs.UpdateTarget(repository.Refs[$"refs/heads/{branch}"] ?? repository.Refs.Add($"refs/heads/{branch}", commit.Id), commit.Id);
        return commit.Sha;
    }

    /// <summary>A new branch at the head of another, as <c>git push origin master:stable/x</c> does.</summary>
    public string Branch(string branch, string from)
    {
        using var repository = new Repository(Path);
        Commit tip = repository.Branches[from].Tip;
        repository.Refs.Add($"refs/heads/{branch}", tip.Id);
        return tip.Sha;
    }

    /// <summary>A force push: the branch moves to a new commit beside its head (same parent), so the old head is gone from its history.</summary>
    public string ForcePush(string branch, string message = "rewritten")
    {
        using var repository = new Repository(Path);
        Commit tip = repository.Branches[branch].Tip;
        Commit commit = CreateCommit(repository, message, tip.Parents.ToArray());
        repository.Refs.UpdateTarget(repository.Refs[$"refs/heads/{branch}"], commit.Id);
        return commit.Sha;
    }

    public void DeleteBranch(string branch)
    {
        using var repository = new Repository(Path);
        repository.Refs.Remove($"refs/heads/{branch}");
    }

    /// <summary>A Gerrit patch set: a commit on top of <paramref name="branch"/>'s head, under <c>refs/changes/NN/CHANGE/PATCHSET</c>.</summary>
    public string PatchSet(string branch, int change, int patchSet)
    {
        using var repository = new Repository(Path);
        Commit commit = CreateCommit(repository, $"change {change} patch set {patchSet}", [repository.Branches[branch].Tip]);
        repository.Refs.Add($"refs/changes/{change % 100:00}/{change}/{patchSet}", commit.Id);
        return commit.Sha;
    }

    public void Dispose() => _folder.Dispose();

    private Commit CreateCommit(Repository repository, string message, Commit[] parents)
    {
        // Distinct content per commit, so two commits with the same parent never share an id.
        int sequence = Interlocked.Increment(ref _sequence);
        Blob blob = repository.ObjectDatabase.CreateBlob(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"{message} {sequence}\n")));
        var tree = new TreeDefinition();
        tree.Add("README", blob, Mode.NonExecutableFile);
        Tree created = repository.ObjectDatabase.CreateTree(tree);
        return repository.ObjectDatabase.CreateCommit(Author, Author, $"{message} {sequence}\n", created, parents, prettifyMessage: false);
    }
}
