using CiRunner.Reporting;

namespace CiRunner.Tests.Reporting;

/// <summary>What counts as a recheck request in a Gerrit change message.</summary>
public sealed class RecheckCommentTests
{
    [Theory]
    [InlineData("Patch Set 3:\n\nrecheck")]
    [InlineData("Patch Set 3:\n\nRECHECK")]
    [InlineData("Patch Set 3: Code-Review+1\n\nrecheck")]
    [InlineData("Patch Set 12:\n\n(2 comments)\n\nrecheck")]
    [InlineData("Patch Set 3:\n\nrecheck acme ci")]
    [InlineData("Patch Set 3:\n\n  recheck   Acme   CI \n")]
    [InlineData("recheck")]
    public void IsRecheck_TheWholeCommentIsRecheckOrRecheckThisCi(string message) =>
        Assert.True(RecheckComment.IsRecheck(message, "Acme CI"));

    [Theory]
    [InlineData("Patch Set 3:\n\nrecheck other-ci")]
    [InlineData("Patch Set 3:\n\nrecheck please, the mirror was down")]
    [InlineData("Patch Set 3:\n\nI will recheck this tomorrow")]
    [InlineData("Patch Set 3: Verified-1\n\nAcme CI: Build failed.\n\n- cirunner-zed-basic https://ci/jobs/1 : FAILURE in 3s")]
    [InlineData("Uploaded patch set 4.")]
    [InlineData("Patch Set 3:\n\nrecheckrecheck")]
    [InlineData("")]
    public void IsRecheck_AnythingElse_IsNot(string message) =>
        Assert.False(RecheckComment.IsRecheck(message, "Acme CI"));
}
