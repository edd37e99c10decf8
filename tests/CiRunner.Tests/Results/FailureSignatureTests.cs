using CiRunner.Results;

namespace CiRunner.Tests.Results;

/// <summary>A failure's signature is equal whenever the same thing broke, whatever ids, times and paths the run had.</summary>
public sealed class FailureSignatureTests
{
    [Fact]
    public void Of_TwoRunsOfTheSameFailure_GiveOneSignature()
    {
        string first = FailureSignature.Of("deploy", "apply", """
            failure: step 'apply' (apply, phase deploy): puppet apply exited 4
            Error: /Stage[main]/Keystone/Exec[keystone-manage db_sync]: Failed to call refresh: 'keystone-manage db_sync' returned 1 instead of one of [0] at 2026-12-05T09:12:55.123Z in /tmp/tmp.QxZ81a/keystone.log
            Error: a second line
            """);
        string second = FailureSignature.Of("deploy", "apply", """
            failure: step 'apply' (apply, phase deploy): puppet apply exited 6
            Error: /Stage[main]/Keystone/Exec[keystone-manage db_sync]: Failed to call refresh: 'keystone-manage db_sync' returned 2 instead of one of [0] at 2026-12-06T01:02:03Z in /tmp/tmp.9fj2kK/keystone.log
            """);

        Assert.Equal(first, second);
        Assert.Equal("deploy/apply: Error: /Stage[main]/Keystone/Exec[keystone-manage db_sync]: Failed to call refresh: 'keystone-manage db_sync' returned N instead of one of [N] at <time> in <tmp>", first);
    }

    [Fact]
    public void Of_DifferentStepsOrErrors_GiveDifferentSignatures()
    {
        const string summary = "failure: step 'x' (command, phase upgrade): command exited 1";
        Assert.NotEqual(FailureSignature.Of("upgrade", "x", summary), FailureSignature.Of("deploy", "x", summary));
        Assert.NotEqual(
            FailureSignature.Of("deploy", "apply", "failure: step 'apply' (apply, phase deploy): x\nError: Could not find class ::a"),
            FailureSignature.Of("deploy", "apply", "failure: step 'apply' (apply, phase deploy): x\nError: Could not find class ::b"));
    }

    [Theory]
    [InlineData("container 3f2a9c81d0e4 exited", "container <hex> exited")]
    [InlineData("commit 0123456789abcdef0123456789abcdef01234567 is gone", "commit <hex> is gone")]
    [InlineData("request 5b6f1c2e-8a41-4a57-9d3e-1f2a3b4c5d6e failed", "request <id> failed")]
    [InlineData("took 12.5 s at 10:11:12", "took N s at <time>")]
    [InlineData("deadbeef is a word and so is facade", "deadbeef is a word and so is facade")]
    [InlineData("charset utf8mb3 on python3 v1.2, not 4 or 12s or 1.2.3", "charset utf8mb3 on python3 v1.2, not N or Ns or N")]
    [InlineData("see /var/tmp/cirunner-17/x.log:   now", "see <tmp>: now")]
    public void Normalise_TakesOutWhatDiffersBetweenRuns(string line, string expected) =>
        Assert.Equal(expected, FailureSignature.Normalise(line));

    [Fact]
    public void Of_NoStepAndALongLine_SaysJobAndIsCut()
    {
        string signature = FailureSignature.Of(null, null, "error: " + new string('x', 400));

        Assert.StartsWith("job: error: xxx", signature, StringComparison.Ordinal);
        Assert.Equal(FailureSignature.MaxLength, signature.Length);
    }
}
