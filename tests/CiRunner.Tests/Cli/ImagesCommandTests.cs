using CiRunner.Cli;
using CiRunner.Tests.Fixtures;

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
        int exitCode = await CliApplication.Build().Parse(["images", "build", "--release", "nosuch", "--config", config])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });

        // Then it got past reading the Docker section and names the release problem, not a binder failure
        Assert.Equal(2, exitCode);
        Assert.DoesNotContain("Failed to convert", error.ToString() + output.ToString(), StringComparison.Ordinal);
        Assert.Contains("nosuch", error.ToString() + output.ToString(), StringComparison.Ordinal);
    }
}
