using CiRunner.Results;

namespace CiRunner.Tests.Results;

/// <summary>The one rule for another attempt: an end that says nothing about the module, while attempts are left.</summary>
public sealed class RetryPolicyTests
{
    [Theory]
    [InlineData(JobResult.Error, true, false, true)]
    [InlineData(JobResult.Error, false, false, false)]
    [InlineData(JobResult.Error, false, true, false)]
    [InlineData(JobResult.Cancelled, false, true, true)]
    [InlineData(JobResult.Cancelled, true, false, false)]
    [InlineData(JobResult.Interrupted, false, false, true)]
    [InlineData(JobResult.Failure, true, true, false)]
    [InlineData(JobResult.Timeout, true, true, false)]
    [InlineData(JobResult.Success, true, true, false)]
    [InlineData(JobResult.Superseded, true, true, false)]
    [InlineData(JobResult.Skipped, true, true, false)]
    public void Retries_AttemptsLeft_OnlyTransientErrorsStopCancelsAndInterruptions(JobResult result, bool transientCause, bool serviceStopping, bool expected)
    {
        Assert.Equal(expected, RetryPolicy.Retries(result, transientCause, serviceStopping, attempt: 1, maxAttempts: 3));
    }

    [Theory]
    [InlineData(1, 3, true)]
    [InlineData(2, 3, true)]
    [InlineData(3, 3, false)]
    [InlineData(1, 1, false)]
    public void Retries_Interrupted_OnlyBelowMaxAttempts(int attempt, int maxAttempts, bool expected)
    {
        Assert.Equal(expected, RetryPolicy.Retries(JobResult.Interrupted, transientCause: false, serviceStopping: false, attempt, maxAttempts));
    }

    [Fact]
    public void JobEnd_Defaults_NeverRetry()
    {
        var end = new JobEnd(JobResult.Interrupted, "crash");

        Assert.False(end.Retries(attempt: 1));
        Assert.True((end with { MaxAttempts = 2 }).Retries(attempt: 1));
    }
}
