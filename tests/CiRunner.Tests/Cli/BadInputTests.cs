using System.CommandLine;
using CiRunner.Cli;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Cli;

/// <summary>
/// Every verb given bad input, through <see cref="CliApplication.InvokeAsync"/> as the executable runs it: one line on
/// standard error that starts with the option, argument or verb at fault and says what to give, exit code 2, no stack
/// trace. A command line is written as one string: words split on spaces, <c>''</c> is an empty word, <c>{config}</c>
/// a valid configuration (<see cref="ConfigFolder"/>), for the checks that need to know what is configured, and
/// <c>{broken}</c> a configuration file that is not JSON.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public BadInputTests()
    {
        _folder.Save();
    }

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("bogus", "cirunner: 'bogus' is not a verb; give one of serve, validate, runs, show, logs, images, trigger, status, matrix, run")]
    [InlineData("", "cirunner: no verb given; give one of serve,")]
    [InlineData("runs --config", "--config: no value; give one after it (cirunner runs --help says what it takes)")]
    [InlineData("runs --config ''", "--config: '' is not a file path; give one like --config /etc/cirunner/appsettings.json")]
    public async Task Root_BadVerbOrGlobalOption_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("serve extra", "cirunner serve: unexpected argument 'extra'; usage: cirunner serve [options]")]
    [InlineData("serve --port 80", "--port: not an option of cirunner serve; its options are --config (cirunner serve --help)")]
    public async Task Serve_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("validate --no-engine maybe", "cirunner validate: unexpected argument 'maybe'")]
    [InlineData("validate --engine", "--engine: not an option of cirunner validate; its options are --no-engine, --config")]
    public async Task Validate_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("runs --limit x", "--limit: 'x' is not a whole number of at least 1; give one like --limit 20")]
    [InlineData("runs --limit 0", "--limit: '0' is not a whole number of at least 1")]
    [InlineData("runs -n -1", "--limit: '-1' is not a whole number of at least 1")]
    [InlineData("runs --limit 99999999999", "--limit: '99999999999' is not a whole number of at least 1")]
    [InlineData("runs --limit", "--limit: no value;")]
    [InlineData("runs --limit 1 --limit 2", "--limit: given 2 times ('1', '2'); give it once")]
    [InlineData("runs --module ''", "--module: '' is empty; give a module's short name, like keystone")]
    [InlineData("runs --bogus", "--bogus: not an option of cirunner runs; its options are --module, --branch, --limit, --config")]
    [InlineData("runs keystone", "cirunner runs: unexpected argument 'keystone'; usage: cirunner runs [options]")]
    public async Task Runs_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("show abc", "<run-id>: 'abc' is not a run id; give a whole number from 1, as 'cirunner runs' lists them")]
    [InlineData("show 0", "<run-id>: '0' is not a run id;")]
    [InlineData("show -5", "<run-id>: '-5' is not a run id;")]
    [InlineData("show", "<run-id>: missing; give the run's id, as listed by 'cirunner runs'")]
    [InlineData("show 1 2", "cirunner show: unexpected argument '2'; usage: cirunner show <run-id> [options]")]
    public async Task Show_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("logs x", "<job-id>: 'x' is not a job id; give a whole number from 1, as 'cirunner show <run-id>' lists them")]
    [InlineData("logs 99999999999999999999999", "<job-id>: '99999999999999999999999' is not a job id;")]
    [InlineData("logs", "<job-id>: missing; give the job's id")]
    public async Task Logs_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("images", "cirunner images: no verb given; give one of build, base")]
    [InlineData("images pull", "cirunner images: 'pull' is not a verb; give one of build, base")]
    [InlineData("images build --build-arg NOEQUALS", "--build-arg: 'NOEQUALS' is not KEY=VALUE; give one like --build-arg OPENSTACK_APT_SOURCES=...")]
    [InlineData("images build --build-arg =value", "--build-arg: '=value' is not KEY=VALUE;")]
    [InlineData("images build --recipes /nonexistent-recipes", "--recipes: '/nonexistent-recipes' is not a folder here; give the folder with one recipe folder per release")]
    [InlineData("images build --release ''", "--release: '' is empty;")]
    [InlineData("images build --release nosuch --config {config}", "--release: 'nosuch' is not configured; configured releases: zed, 2023.1, 2024.1, 2024.2")]
    [InlineData("images base --suite Trixie", "--suite: 'Trixie' is not a Debian suite name; give one like bookworm or trixie")]
    [InlineData("images base --mirror deb.debian.org", "--mirror: 'deb.debian.org' is not an absolute http(s) URL; give one like http://deb.debian.org/debian")]
    [InlineData("images base --tag Base:Latest", "--tag: 'Base:Latest' is not an image tag; give one like cirunner/base:bookworm")]
    [InlineData("images base --force yes", "cirunner images base: unexpected argument 'yes'")]
    [InlineData("images build --config {broken}", "--config: '{broken}' cannot be read: 'b' is an invalid start of a property name.")]
    [InlineData("images base --config {broken}", "--config: '{broken}' cannot be read:")]
    public async Task Images_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("trigger --module m --branch b --url xyz", "--url: 'xyz' is not an absolute http(s) URL; give one like http://127.0.0.1:8080")]
    [InlineData("trigger --module m --branch b --url ftp://ci.example.org/", "--url: 'ftp://ci.example.org/' is not an absolute http(s) URL")]
    [InlineData("trigger --module m --branch b --url /api", "--url: '/api' is not an absolute http(s) URL")]
    [InlineData("trigger --module m --branch b --url", "--url: no value; give one after it (cirunner trigger --help says what it takes)")]
    [InlineData("trigger --branch b", "--module: missing; give the module (short name, e.g. keystone)")]
    [InlineData("trigger --module m", "--branch/--commit: neither given; give --branch B (its head), --commit SHA, or both")]
    [InlineData("trigger --module m --commit HEAD~1", "--commit: 'HEAD~1' is not a commit id; give 7 to 40 hexadecimal digits, like 3f2a9c1")]
    [InlineData("trigger --module '' --branch b", "--module: '' is empty; give a module's short name, like keystone")]
    public async Task Trigger_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Fact]
    public async Task Trigger_AbsoluteHttpUrl_IsTakenAndTheVerbGoesOnToTheToken()
    {
        // Given a configuration whose API token variable is unset (issue 12: --url died with a stack trace on any URL)
        string config = _folder.Write("token-less.json", """{ "Http": { "ApiTokenVariable": "CIRUNNER_TEST_UNSET_TOKEN_VARIABLE" } }""");

        (int exitCode, string output, string error) = await InvokeAsync(
            "trigger", "--module", "m", "--branch", "b", "--url", "http://127.0.0.1:8093", "--config", config);

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.Equal("No API token: set CIRUNNER_TEST_UNSET_TOKEN_VARIABLE to the token the service was started with.", error.TrimEnd());
    }

    [Theory]
    [InlineData("status now", "cirunner status: unexpected argument 'now'; usage: cirunner status [options]")]
    [InlineData("status --module keystone", "--module: not an option of cirunner status; its options are --config")]
    public async Task Status_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("matrix --module ''", "--module: '' is empty; give a module's short name, like keystone")]
    [InlineData("matrix --branch", "--branch: no value;")]
    [InlineData("matrix --module nova --config {config}", "--module: 'nova' is not configured; configured: keystone, openstacklib")]
    public async Task Matrix_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Theory]
    [InlineData("run --ref master", "--module: missing; give the module under test (short name, e.g. keystone)")]
    [InlineData("run --module keystone", "--ref: missing; give a branch or commit of the module's repository, or a local working-copy path")]
    [InlineData("run --module keystone --ref ''", "--ref: '' is empty;")]
    [InlineData("run --module keystone --ref master --upgrade no", "cirunner run: unexpected argument 'no'")]
    [InlineData("run --module nova --ref master --config {config}", "--module: 'nova' is not configured; configured: keystone, openstacklib")]
    [InlineData("run --module keystone --ref master --release 2099.1 --config {config}", "--release: '2099.1' is not configured; configured: zed, 2023.1, 2024.1, 2024.2")]
    [InlineData("run --module keystone --ref master --scenario nosuch --config {config}", "--scenario: 'nosuch' is not in")]
    public async Task Run_BadInput_OneLineExit2(string commandLine, string expected) => await AssertBadInputAsync(commandLine, expected);

    [Fact]
    public async Task Help_WithABadValue_StillShowsHelpAndExitsZero()
    {
        (int exitCode, string output, string error) = await InvokeAsync("runs", "--limit", "x", "--help");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains("How many runs to list, newest first.", output, StringComparison.Ordinal);
    }

    private async Task AssertBadInputAsync(string commandLine, string expected)
    {
        string[] args = commandLine.Length == 0 ? [] : [.. commandLine.Split(' ').Select(Word)];

        (int exitCode, string output, string error) = await InvokeAsync(args);

        Assert.True(exitCode == 2, $"exit code {exitCode}; standard error: {error}");
        Assert.Equal("", output);
        string[] lines = error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on standard error, got: {error}");
        Assert.StartsWith(expected.Replace("{broken}", Word("{broken}"), StringComparison.Ordinal), lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    private string Word(string word) => word switch
    {
        "''" => "",
        "{config}" => _folder.ConfigFile,
        "{broken}" => _folder.Write("broken.json", "{ bad json"),
        _ => word,
    };

    private static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}
