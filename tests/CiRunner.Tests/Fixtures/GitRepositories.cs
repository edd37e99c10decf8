using LibGit2Sharp;

namespace CiRunner.Tests.Fixtures;

/// <summary>Real git repositories for tests, made with LibGit2Sharp in a temp folder.</summary>
public static class GitRepositories
{
    private static readonly Signature Author = new("CiRunner tests", "tests@cirunner.invalid", new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Creates a repository at <paramref name="path"/> on <paramref name="branch"/> with <paramref name="files"/> committed; returns the commit sha.</summary>
    public static string Create(string path, string branch, IReadOnlyDictionary<string, string> files)
    {
        Repository.Init(path);
        using var repository = new Repository(path);
        repository.Refs.UpdateTarget("HEAD", $"refs/heads/{branch}");
        return Commit(repository, path, files, "Initial commit");
    }

    /// <summary>Writes <paramref name="files"/> into the work tree of <paramref name="path"/> and commits them on the current branch.</summary>
    public static string Commit(string path, IReadOnlyDictionary<string, string> files, string message)
    {
        using var repository = new Repository(path);
        return Commit(repository, path, files, message);
    }

    private static string Commit(Repository repository, string path, IReadOnlyDictionary<string, string> files, string message)
    {
        foreach ((string relativePath, string content) in files)
        {
            string file = Path.Combine(path, relativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, content);
            Commands.Stage(repository, relativePath);
        }

        return repository.Commit(message, Author, Author).Sha;
    }
}
