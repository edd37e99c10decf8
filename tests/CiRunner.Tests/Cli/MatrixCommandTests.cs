using System.CommandLine;
using System.Text.Json.Nodes;
using CiRunner.Cli;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Cli;

public sealed class MatrixCommandTests
{
    [Fact]
    public async Task Matrix_ModuleAndBranch_PrintsDeployAndUpgradeCells()
    {
        using var folder = new ConfigFolder();
        folder.Save();

        (int exitCode, string output, string error) = await RunAsync("matrix", "--config", folder.ConfigFile, "--module", "keystone", "--branch", "stable/2024.1");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        string[] lines = output.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("keystone stable/2024.1: 2 cells", lines[0]);
        Assert.Matches(@"^  KIND\s+RELEASE\s+SCENARIO\s+KEY$", lines[1]);
        Assert.Matches(@"^  deploy\s+2024\.1\s+basic\s+2024\.1/basic$", lines[2]);
        Assert.Matches(@"^  upgrade\s+2023\.1 -> 2024\.1\s+basic\s+2023\.1->2024\.1/basic:upgrade$", lines[3]);
        Assert.Equal(4, lines.Length); // 2023.1 is both the previous and the previous SLURP release: one path
    }

    [Fact]
    public async Task Matrix_NoOptions_EveryModuleBranchWithRules()
    {
        using var folder = new ConfigFolder();
        folder.Set("Matrix", JsonNode.Parse("""{ "Rollback": true, "Exclude": [ { "FromRelease": "zed" } ] }"""));
        folder.Save();

        (int exitCode, string output, _) = await RunAsync("matrix", "--config", folder.ConfigFile);

        Assert.Equal(0, exitCode);
        Assert.Contains("keystone unmaintained/zed: 1 cell", output, StringComparison.Ordinal);
        Assert.Contains("keystone unmaintained/2023.1: 1 cell", output, StringComparison.Ordinal);
        Assert.Contains("keystone master: 3 cells", output, StringComparison.Ordinal);
        Assert.Contains("2024.1->2024.2/basic:rollback", output, StringComparison.Ordinal);
        Assert.Contains("openstacklib master: 4 cells", output, StringComparison.Ordinal);
        Assert.DoesNotContain("zed->", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Matrix_UnknownModule_ExitsTwoNamingTheOptionAndTheConfiguredOnes()
    {
        using var folder = new ConfigFolder();
        folder.Save();

        (int exitCode, _, string error) = await RunAsync("matrix", "--config", folder.ConfigFile, "--module", "nova");

        Assert.Equal(2, exitCode);
        Assert.Equal("--module: 'nova' is not configured; configured: keystone, openstacklib", error.TrimEnd());
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}
