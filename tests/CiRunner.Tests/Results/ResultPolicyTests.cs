using CiRunner.Results;

namespace CiRunner.Tests.Results;

public sealed class ResultPolicyTests
{
    [Theory]
    [InlineData(new JobResult[0], JobResult.Skipped)]
    [InlineData(new[] { JobResult.Success, JobResult.Skipped }, JobResult.Success)]
    [InlineData(new[] { JobResult.Skipped, JobResult.Skipped }, JobResult.Skipped)]
    [InlineData(new[] { JobResult.Success, JobResult.Superseded }, JobResult.Superseded)]
    [InlineData(new[] { JobResult.Error, JobResult.Success }, JobResult.Error)]
    [InlineData(new[] { JobResult.Error, JobResult.Timeout, JobResult.Interrupted }, JobResult.Timeout)]
    [InlineData(new[] { JobResult.Cancelled, JobResult.Failure, JobResult.Error }, JobResult.Failure)]
    public void CombineRun_JobResults_MostTellingWins(JobResult[] jobs, JobResult expected)
    {
        Assert.Equal(expected, ResultPolicy.CombineRun(jobs));
    }

    [Theory]
    [InlineData(JobResult.Success, null, true)]
    [InlineData(JobResult.Failure, null, true)]
    [InlineData(JobResult.Interrupted, null, true)]
    [InlineData(JobResult.Skipped, null, false)]
    [InlineData(JobResult.Superseded, null, false)]
    [InlineData(JobResult.Cancelled, null, false)]
    [InlineData(JobResult.Failure, "refs/changes/45/12345/3", false)]
    public void UpdatesCell_ResultAndChange_OnlyBranchVerdicts(JobResult result, string? changeRef, bool expected)
    {
        Assert.Equal(expected, ResultPolicy.UpdatesCell(result, changeRef));
    }
}
