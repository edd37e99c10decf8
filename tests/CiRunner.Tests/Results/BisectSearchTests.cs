using CiRunner.Results;

namespace CiRunner.Tests.Results;

/// <summary>
/// The search itself, driven by a simulated cell: a history of 20 commits after the good one where a chosen commit
/// (and every later one) fails. What a user relies on: the first bad commit is named, within the job budget, and
/// flakes neither name a wrong culprit nor go unmentioned.
/// </summary>
public sealed class BisectSearchTests
{
    private const int Commits = 20;

    [Theory]
    [InlineData(13)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(19)]
    [InlineData(20)]
    public void Search_NoRetries_NamesTheFirstBadCommitWithinSixJobs(int firstBad)
    {
        (BisectDecision end, List<int> ran) = Simulate(firstBad, retries: 0, maxJobs: 16, flaky: _ => false);

        Assert.Equal(BisectVerdict.Culprit, end.Verdict);
        Assert.Equal(firstBad, end.CulpritPosition);
        Assert.InRange(ran.Count, 1, 6);
        Assert.Equal(Commits, ran[0]);
    }

    [Theory]
    [InlineData(0, 6)]
    [InlineData(1, 9)]
    public void Search_AnyCulpritAmongTwenty_UsesAtMostTheJobsTheReadmeStates(int retries, int most)
    {
        var used = Enumerable.Range(1, Commits).Select(firstBad =>
        {
            (BisectDecision end, List<int> ran) = Simulate(firstBad, retries, maxJobs: 16, flaky: _ => false);
            Assert.Equal(firstBad, end.CulpritPosition);
            return ran.Count;
        }).ToList();

        Assert.Equal(most, used.Max());
    }

    [Fact]
    public void Search_DefaultRetry_ReRunsEachFailingMidpointOnce()
    {
        // 13 bad of 20: the bad commit again, then midpoints 10 (passes), 15 and 13 (fail, each twice), 12 (passes).
        (BisectDecision end, List<int> ran) = Simulate(13, retries: 1, maxJobs: 16, flaky: _ => false);

        Assert.Equal((BisectVerdict.Culprit, 13), (end.Verdict, end.CulpritPosition));
        Assert.Equal([20, 10, 15, 15, 12, 13, 13], ran);
    }

    [Fact]
    public void Search_MidpointFailsThenPasses_CountsItGoodAndSaysItIsFlaky()
    {
        // Commit 15 fails once then passes: a flake there must not pull the culprit down to 15.
        int failuresAt15 = 0;
        (BisectDecision end, List<int> _) = Simulate(17, retries: 1, maxJobs: 16, flaky: p => p == 15 && failuresAt15++ == 0);

        Assert.Equal((BisectVerdict.Culprit, 17), (end.Verdict, end.CulpritPosition));
        Assert.Contains("flaky (passed and failed): c15", end.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Search_RedDoesNotComeBack_EndsNotReproducibleAfterOneJob()
    {
        BisectDecision end = BisectSearch.Next(Commits, checkGood: false, retries: 1, maxJobs: 16, [(Commits, JobResult.Success)], Name);

        Assert.Equal(BisectVerdict.NotReproducible, end.Verdict);
        Assert.Null(end.CulpritPosition);
        Assert.Contains("the bad commit c20 passed when run again", end.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Search_OtherModulesMovedAndGoodEndFailsToo_EndsNotInRange()
    {
        var steps = new List<(int, JobResult)> { (Commits, JobResult.Failure) };
        Assert.Equal(0, BisectSearch.Next(Commits, checkGood: true, retries: 0, maxJobs: 16, steps, Name).RunPosition);

        steps.Add((0, JobResult.Failure));
        BisectDecision end = BisectSearch.Next(Commits, checkGood: true, retries: 0, maxJobs: 16, steps, Name);

        Assert.Equal(BisectVerdict.NotInRange, end.Verdict);
    }

    [Fact]
    public void Search_OutOfJobs_EndsInconclusiveNamingTheNarrowedRange()
    {
        (BisectDecision end, List<int> ran) = Simulate(13, retries: 0, maxJobs: 3, flaky: _ => false);

        Assert.Equal(BisectVerdict.Inconclusive, end.Verdict);
        Assert.Equal(3, ran.Count);
        Assert.Contains("after c10 and at or before c15", end.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(JobResult.Error, BisectVerdict.Error)]
    [InlineData(JobResult.Cancelled, BisectVerdict.Cancelled)]
    public void Search_StepSaysNothingAboutTheCommit_EndsTheSearch(JobResult result, BisectVerdict verdict)
    {
        BisectDecision end = BisectSearch.Next(Commits, checkGood: false, retries: 0, maxJobs: 16, [(Commits, JobResult.Failure), (10, result)], Name);

        Assert.Equal(verdict, end.Verdict);
    }

    /// <summary>Runs the search against a cell that fails from <paramref name="firstBad"/> on (and wherever <paramref name="flaky"/> says).</summary>
    private static (BisectDecision End, List<int> Ran) Simulate(int firstBad, int retries, int maxJobs, Func<int, bool> flaky)
    {
        var steps = new List<(int Position, JobResult Result)>();
        while (true)
        {
            BisectDecision decision = BisectSearch.Next(Commits, checkGood: false, retries, maxJobs, steps, Name);
            if (decision.RunPosition is not { } position)
            {
                return (decision, steps.Select(s => s.Position).ToList());
            }

            Assert.True(steps.Count < 50, "the search does not end");
            steps.Add((position, position >= firstBad || flaky(position) ? JobResult.Failure : JobResult.Success));
        }
    }

    private static string Name(int position) => $"c{position}";
}
