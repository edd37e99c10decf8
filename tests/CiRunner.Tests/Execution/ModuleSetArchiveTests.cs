using System.Formats.Tar;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;

namespace CiRunner.Tests.Execution;

public sealed class ModuleSetArchiveTests
{
    private static readonly Signature Author = new("CiRunner Tests", "tests@example.invalid", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task WriteAsync_GitModuleAtACommit_HasThatCommitsFilesModesAndSymlinks()
    {
        using var folder = new TempDirectory();
        string repository = folder.Combine("puppet-demo");
        Repository.Init(repository);
        folder.Write("puppet-demo/manifests/init.pp", "class demo { }\n");
        folder.Write("puppet-demo/files/run.sh", "#!/bin/sh\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(repository, "files", "run.sh"), (UnixFileMode)0b111_101_101);
        }

        File.CreateSymbolicLink(Path.Combine(repository, "files", "link.sh"), "run.sh");
        string first = Commit(repository, "first");
        folder.Write("puppet-demo/manifests/init.pp", "class demo { notify { 'v2': } }\n");
        Commit(repository, "second");

        Dictionary<string, (TarEntryType Type, UnixFileMode Mode, string Content, string? Link)> entries =
            await ReadAsync([new GitModuleSource("demo", repository, first)], []);

        Assert.Equal("class demo { }\n", entries["cirunner/modules/demo/manifests/init.pp"].Content);
        Assert.Equal((UnixFileMode)0b111_101_101, entries["cirunner/modules/demo/files/run.sh"].Mode);
        Assert.Equal((UnixFileMode)0b110_100_100, entries["cirunner/modules/demo/manifests/init.pp"].Mode);
        Assert.Equal((TarEntryType.SymbolicLink, "run.sh"), (entries["cirunner/modules/demo/files/link.sh"].Type, entries["cirunner/modules/demo/files/link.sh"].Link));
        Assert.Equal(TarEntryType.Directory, entries["cirunner/modules/demo/manifests/"].Type);
        Assert.DoesNotContain(entries.Keys, k => k.Contains(".git/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteAsync_DirectoryModuleAndScenarioFiles_AreLaidOutUnderCirunner()
    {
        using var folder = new TempDirectory();
        string module = TestJobs.WriteModule(folder, "local", "class local { }\n");
        folder.Write("local/.git/HEAD", "ref: refs/heads/master\n");
        string manifest = folder.Write("scenario/site.pp", "include local\n");
        string data = folder.Write("scenario/data/common.yaml", "---\n");

        Dictionary<string, (TarEntryType Type, UnixFileMode Mode, string Content, string? Link)> entries = await ReadAsync(
            [new DirectoryModuleSource("local", module)],
            [new ScenarioFile("site.pp", manifest), new ScenarioFile("data/common.yaml", data)]);

        Assert.Equal("class local { }\n", entries["cirunner/modules/local/manifests/init.pp"].Content);
        Assert.Contains("cirunner/modules/local/metadata.json", entries.Keys);
        Assert.DoesNotContain(entries.Keys, k => k.Contains(".git", StringComparison.Ordinal));
        Assert.Equal("include local\n", entries["cirunner/scenario/site.pp"].Content);
        Assert.Equal(TarEntryType.Directory, entries["cirunner/scenario/data/"].Type);
        Assert.Equal("---\n", entries["cirunner/scenario/data/common.yaml"].Content);
    }

    [Fact]
    public async Task WriteAsync_CommitNotInRepository_ThrowsModuleSetExceptionNamingIt()
    {
        using var folder = new TempDirectory();
        string repository = folder.Combine("puppet-demo");
        Repository.Init(repository);
        folder.Write("puppet-demo/manifests/init.pp", "class demo { }\n");
        Commit(repository, "only");
        const string missing = "0123456789abcdef0123456789abcdef01234567";

        var ex = await Assert.ThrowsAsync<ModuleSetException>(() => ReadAsync([new GitModuleSource("demo", repository, missing)], []));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("..")]
    public async Task WriteAsync_ModuleNameThatIsNotAFolderName_IsRejected(string name)
    {
        using var folder = new TempDirectory();

        await Assert.ThrowsAsync<ModuleSetException>(() => ReadAsync([new DirectoryModuleSource(name, folder.Path)], []));
    }

    private static string Commit(string repository, string message)
    {
        using var repo = new Repository(repository);
        Commands.Stage(repo, "*");
        return repo.Commit(message, Author, Author).Sha;
    }

    private static async Task<Dictionary<string, (TarEntryType Type, UnixFileMode Mode, string Content, string? Link)>> ReadAsync(
        IReadOnlyList<ModuleSource> modules, IReadOnlyList<ScenarioFile> files)
    {
        using var archive = new MemoryStream();
        await ModuleSetArchive.WriteAsync(archive, modules, files, CancellationToken.None);
        archive.Position = 0;
        var entries = new Dictionary<string, (TarEntryType, UnixFileMode, string, string?)>(StringComparer.Ordinal);
        await using var reader = new TarReader(archive);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            string content = "";
            if (entry.DataStream is not null)
            {
                using var text = new StreamReader(entry.DataStream);
                content = await text.ReadToEndAsync();
            }

            entries.Add(entry.Name, (entry.EntryType, entry.Mode, content, entry.EntryType == TarEntryType.SymbolicLink ? entry.LinkName : null));
        }

        return entries;
    }
}
