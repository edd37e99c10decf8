namespace CiRunner.Tests.Fixtures;

/// <summary>The checkout the tests run from, found by walking up to <c>CiRunner.sln</c>.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "CiRunner.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No CiRunner.sln above {AppContext.BaseDirectory}.");
    }
}
