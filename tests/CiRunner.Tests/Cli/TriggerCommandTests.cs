using CiRunner.Cli;

namespace CiRunner.Tests.Cli;

public sealed class TriggerCommandTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://*:8080", "http://localhost:8080/")]
    [InlineData("http://+:9000", "http://localhost:9000/")]
    [InlineData("https://ci.example.org:8443", "https://ci.example.org:8443/")]
    public void ClientUrl_WildcardListenHosts_MeanThisMachine(string listen, string expected)
    {
        Assert.Equal(new Uri(expected), TriggerCommand.ClientUrl(listen));
    }

    [Fact]
    public async Task Trigger_NeitherBranchNorCommit_IsAUsageError()
    {
        var error = new StringWriter();

        int exitCode = await CliApplication.InvokeAsync(
            ["trigger", "--module", "keystone"], new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = error }, CancellationToken.None);

        Assert.Equal(BadInput.ExitCode, exitCode);
        Assert.Equal("--branch/--commit: neither given; give --branch B (its head), --commit SHA, or both", error.ToString().TrimEnd());
    }
}
