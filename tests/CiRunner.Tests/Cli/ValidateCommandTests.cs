using System.CommandLine;
using CiRunner.Cli;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Cli;

public sealed class ValidateCommandTests
{
    [Fact]
    public async Task Validate_ValidFolder_ExitsZeroWithASummary()
    {
        using var folder = new ConfigFolder();
        folder.Save();

        (int exitCode, string output, string error) = await RunAsync("validate", "--config", folder.ConfigFile);

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains($"{folder.ConfigFile}: valid", output, StringComparison.Ordinal);
        Assert.Matches(@"keystone\s+https://opendev.org/openstack/puppet-keystone\s+master, stable/\*, unmaintained/\*", output);
        Assert.Matches(@"2\.\s+2023\.1\s+SLURP\s+cirunner/release:2023\.1\s+unmaintained/2023\.1, 2023\.1-eol\s+3 modules", output);
        Assert.Matches(@"4\.\s+2024\.2\s+development\s+cirunner/release:2024\.2\s+master", output);
        Assert.Matches(@"lib-only\s+releases: 2024\.1, 2024\.2\s+no upgrade\s+steps: apply, command\s+modules: openstacklib", output);
        Assert.Matches(@"keystone\s+unmaintained/zed\s+zed\s+1 cell\s+1 deploy, 0 upgrade, 0 rollback, 0 compatibility\n", output.ReplaceLineEndings("\n"));
        Assert.Matches(@"keystone\s+unmaintained/2023\.1\s+2023\.1\s+2 cells\s+1 deploy, 1 upgrade, 0 rollback, 0 compatibility\n", output.ReplaceLineEndings("\n"));
        Assert.Matches(@"openstacklib\s+\(no tracked branch\)\s+zed, 2023\.1\s+no cells", output);
        Assert.Matches(@"openstacklib\s+stable/2024\.1\s+2024\.1\s+3 cells\s+2 deploy, 1 upgrade", output);
        Assert.Contains("Total: 13 cells: 8 deploy, 5 upgrade, 0 rollback, 0 compatibility", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_TwoThingsBroken_ExitsOneAndListsBothOnStandardError()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParallelJobs", "two");
        folder.Save();
        folder.Write("scenarios/lib-only.yaml", ConfigFolder.LibOnlyScenario.Replace("[openstacklib]", "[openstacklib, nova]", StringComparison.Ordinal));

        (int exitCode, string output, string error) = await RunAsync("validate", "--config", folder.ConfigFile);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            [
                "appsettings.json: Docker:ParallelJobs: 'two' is not valid; expected a whole number from 1 to 64",
                "scenarios/lib-only.yaml: line 3, modules: 'nova' is not valid; expected a module that a release Puppetfile declares (it is in none of them)",
            ],
            error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("not valid, 2 errors", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_ConfigFileMissing_ExitsOne()
    {
        string missing = Path.Combine(Path.GetTempPath(), "cirunner-tests", "none", "appsettings.json");

        (int exitCode, _, string error) = await RunAsync("validate", "--config", missing);

        Assert.Equal(1, exitCode);
        Assert.Contains("appsettings.json: file: missing", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_ShippedConfiguration_ExitsZero()
    {
        (int exitCode, string output, string error) = await RunAsync("validate", "--config", Path.Combine(RepositoryRoot.Path, "appsettings.json"), "--no-engine");

        Assert.True(exitCode == 0, error);
        Assert.Contains("scenario001", output, StringComparison.Ordinal);
        Assert.DoesNotContain("systemd ", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}
