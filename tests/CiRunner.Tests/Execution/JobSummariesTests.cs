using CiRunner.Execution;

namespace CiRunner.Tests.Execution;

/// <summary>The texts a job's outcome is told in.</summary>
public sealed class JobSummariesTests
{
    [Fact]
    public void Step_FailedApply_QuotesPuppetsFirstThreeErrorLines()
    {
        var step = new StepOutcome("deploy", 0, "apply", StepKind.Apply, JobResult.Failure, 6, null, TimeSpan.Zero, "puppet apply exited 6");
        string[] tail = ["out Notice: compiled", "err Error: one", "out Error: two", "err Warning: x", "err Error: three", "err Error: four"];

        string summary = JobSummaries.Step(step, tail);

        Assert.Equal("failure: step 'apply' (apply, phase deploy): puppet apply exited 6\nError: one\nError: two\nError: three", summary);
    }

    [Fact]
    public void Step_Timeout_IsOneLineWithoutPuppetsErrors()
    {
        var step = new StepOutcome("upgrade", 3, "tempest", StepKind.Tempest, JobResult.Timeout, null, null, TimeSpan.Zero, "the step exceeded its 60 s limit; container killed");

        string summary = JobSummaries.Step(step, ["err Error: not quoted"]);

        Assert.Equal("timeout: step 'tempest' (tempest, phase upgrade): the step exceeded its 60 s limit; container killed", summary);
    }

    [Fact]
    public void Evidence_WithContainerAndOutput_NamesTheShortIdImageExitAndTail()
    {
        string text = JobSummaries.Evidence("exit 127", "0123456789abcdef0123", "cirunner/release:zed", 127, ["out a", "err b"]);

        Assert.Equal("exit 127\n(container 0123456789ab, image cirunner/release:zed, exit 127)\nlast output:\nout a\nerr b", text);
    }

    [Fact]
    public void Evidence_NoContainerNoOutput_SaysSo()
    {
        Assert.Equal("gone\n(no container, image img)", JobSummaries.Evidence("gone", null, "img", null, []));
    }

    [Fact]
    public void Describe_DiskFull_NamesTheSettingThatHoldsJobsBack()
    {
        string text = JobSummaries.Describe(new IOException("No space left on device", 28));

        Assert.StartsWith("the disk is full (no space left on device): ", text, StringComparison.Ordinal);
        Assert.Contains("Service:MinFreeDiskMb", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_OtherIoAndUnknownFailures_SayWhatTheyAre()
    {
        Assert.StartsWith("I/O failed (disk full, or the engine dropped the connection): broken pipe", JobSummaries.Describe(new IOException("broken pipe")), StringComparison.Ordinal);
        Assert.Equal("the Docker engine is unreachable: refused", JobSummaries.Describe(new HttpRequestException("refused")));
        Assert.Equal("InvalidOperationException: odd", JobSummaries.Describe(new InvalidOperationException("odd")));
    }

    [Theory]
    [InlineData("sha256:0123456789abcdef", "0123456789ab")]
    [InlineData("abc", "abc")]
    public void Short_ImageOrContainerId_IsTwelveHexDigits(string id, string expected)
    {
        Assert.Equal(expected, JobSummaries.Short(id));
    }

    [Fact]
    public void Quote_ArgumentsWithWhitespaceOrEmpty_AreQuoted()
    {
        Assert.Equal("grep -q 'a b' ''", JobSummaries.Quote(["grep", "-q", "a b", ""]));
        Assert.Equal("1.5 s", JobSummaries.Seconds(TimeSpan.FromMilliseconds(1500)));
    }
}
