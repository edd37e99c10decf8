using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Configuration;

namespace CiRunner.Tests.Cli;

public sealed class ImagesCommandTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ImagesBuild_DockerSectionWithDurationsInCiRunnersForm_ReadsTheEngineAndGoesOn()
    {
        // Given a configuration the service accepts, with durations written the documented way ("2h")
        string config = _folder.Write("appsettings.json", """
            {
              "Releases": [ { "Name": "zed", "Branches": ["unmaintained/zed"], "Image": "cirunner/release:zed" } ],
              "Docker": { "Endpoint": "unix:///nonexistent/docker.sock", "JobTimeout": "2h" }
            }
            """);
        var output = new StringWriter();
        var error = new StringWriter();

        // When images build is asked for a release the file does not have
        int exitCode = await CliApplication.InvokeAsync(
            ["images", "build", "--release", "nosuch", "--config", config], new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);

        // Then it got past reading the Docker section and names the release problem, not a binder failure
        Assert.Equal(2, exitCode);
        Assert.DoesNotContain("Failed to convert", error.ToString() + output.ToString(), StringComparison.Ordinal);
        Assert.Contains("nosuch", error.ToString() + output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImagesBuild_ReleasesWithSuiteInitAndPackageSnapshot_AreReadAndGoOn()
    {
        // Given releases with the keys the images build reads, written as the documentation says
        string config = _folder.Write("appsettings.json", """
            {
              "Releases": [
                { "Name": "zed", "Branches": ["unmaintained/zed"], "Image": "cirunner/release:zed", "Init": "none" },
                { "Name": "2024.2", "Branches": ["stable/2024.2"], "Image": "cirunner/release:2024.2", "Suite": "trixie", "Init": "systemd", "PackageSnapshot": true }
              ],
              "Docker": { "Endpoint": "unix:///nonexistent/docker.sock" }
            }
            """);

        // When images build is asked for a release the file does not have
        (int exitCode, string output, string error) = await InvokeAsync("images", "build", "--release", "nosuch", "--config", config);

        // Then the releases were read (the error is about the release asked for, naming the configured ones)
        Assert.Equal(2, exitCode);
        Assert.Equal("--release: 'nosuch' is not configured; configured releases: zed, 2024.2", error.TrimEnd());
    }

    [Fact]
    public async Task ImagesBuild_PackageSnapshotNotABoolean_NamesTheKeyAndExits2()
    {
        string config = _folder.Write("appsettings.json", """
            {
              "Releases": [ { "Name": "2024.2", "Branches": ["stable/2024.2"], "Image": "cirunner/release:2024.2", "Suite": "Trixie 13", "PackageSnapshot": "yes" } ],
              "Docker": { "Endpoint": "unix:///nonexistent/docker.sock" }
            }
            """);

        (int exitCode, string output, string error) = await InvokeAsync("images", "build", "--config", config);

        Assert.Equal(2, exitCode);
        Assert.Contains("Releases:0:PackageSnapshot: 'yes' is not valid; expected true or false", error, StringComparison.Ordinal);
        Assert.Contains("Releases:0:Suite: 'Trixie 13' is not valid", error, StringComparison.Ordinal);
        Assert.Empty(output);
    }

    [Fact]
    public void LoadReleases_SuiteInitAndPackageSnapshot_AreRead()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Releases:0:Name"] = "zed",
            ["Releases:0:Branches:0"] = "unmaintained/zed",
            ["Releases:0:Image"] = "cirunner/release:zed",
            ["Releases:1:Name"] = "2024.2",
            ["Releases:1:Branches:0"] = "stable/2024.2",
            ["Releases:1:Image"] = "cirunner/release:2024.2",
            ["Releases:1:Suite"] = "trixie",
            ["Releases:1:Init"] = "systemd",
            ["Releases:1:PackageSnapshot"] = "true",
        }).Build();

        (IReadOnlyList<ReleaseOptions> releases, IReadOnlyList<ConfigurationError> errors) = ConfigurationLoader.LoadReleases(configuration, _folder.Combine("appsettings.json"));

        Assert.Empty(errors);
        Assert.Equal(("zed", "bookworm", InitSystem.None, false), (releases[0].Name, releases[0].Suite, releases[0].Init, releases[0].PackageSnapshot));
        Assert.Equal(("2024.2", "trixie", InitSystem.Systemd, true), (releases[1].Name, releases[1].Suite, releases[1].Init, releases[1].PackageSnapshot));
    }

    private static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(args, new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}
