namespace CiRunner.Tests.Model;

/// <summary>The one order of a job's phases, which the store, <c>show</c> and the job page list them in.</summary>
public sealed class PhaseNamesTests
{
    [Fact]
    public void Order_IsTheOrderAJobRunsItsPhases_AnUnknownNameLast()
    {
        Assert.Equal(["deploy", "upgrade", "rollback"], PhaseNames.InRunOrder);
        Assert.Equal((0, 1, 2, 3), (PhaseNames.Order("deploy"), PhaseNames.Order("upgrade"), PhaseNames.Order("rollback"), PhaseNames.Order("reinstall")));
    }
}
