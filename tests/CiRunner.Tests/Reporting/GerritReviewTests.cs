using CiRunner.Reporting;
using static CiRunner.Tests.Reporting.ReportSamples;

namespace CiRunner.Tests.Reporting;

/// <summary>The third-party CI rules and the review text, without a server.</summary>
public sealed class GerritReviewTests
{
    [Fact]
    public void FormatMessage_HeaderContactTimestampAndOneLinePerJob_InTheThirdPartyFormat()
    {
        FinishedRun run = Run(
            Cell(7, "scenario001", JobResult.Success, TimeSpan.FromSeconds(192)),
            Cell(8, "scenario004", JobResult.Failure, TimeSpan.FromSeconds(65), release: "2024.1"),
            Cell(9, "scenario001", JobResult.Success, TimeSpan.FromSeconds(3723), kind: JobKind.Upgrade, release: "2023.1", fromRelease: "zed"));
        var options = Options(voting: true, "scenario004");

        GerritVerdict verdict = GerritReview.Decide(run, options);
        string message = GerritReview.FormatMessage(run, verdict, options, Links);

        Assert.Equal(
            """
            Acme CI: Build succeeded.

            Contact: https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI
            Patch set 3, run 42, finished 2025-04-01 02:13:07 UTC: https://ci.example.org/runs/42

            - cirunner-zed-scenario001 https://ci.example.org/jobs/7 : SUCCESS in 3m 12s
            - cirunner-2024.1-scenario004 https://ci.example.org/jobs/8 : FAILURE in 1m 05s (non-voting)
            - cirunner-zed-2023.1-scenario001-upgrade https://ci.example.org/jobs/9 : SUCCESS in 1h 02m 03s
            """,
            message);
        Assert.Equal((GerritVerdictKind.Post, true, 1), (verdict.Kind, verdict.Passed, verdict.Vote));
    }

    [Fact]
    public void Decide_VotingJobFailedOrTimedOut_BuildFailedAndVerifiedMinusOne()
    {
        GerritVerdict failed = GerritReview.Decide(Run(Cell(1, "a", JobResult.Success, TimeSpan.FromSeconds(1)), Cell(2, "b", JobResult.Failure, TimeSpan.FromSeconds(1))), Options());
        GerritVerdict timedOut = GerritReview.Decide(Run(Cell(1, "a", JobResult.Timeout, TimeSpan.FromHours(2))), Options());

        Assert.Equal((GerritVerdictKind.Post, false, -1), (failed.Kind, failed.Passed, failed.Vote));
        Assert.Equal((GerritVerdictKind.Post, false, -1), (timedOut.Kind, timedOut.Passed, timedOut.Vote));
        Assert.StartsWith("Acme CI: Build failed.", GerritReview.FormatMessage(Run(Cell(1, "a", JobResult.Timeout, TimeSpan.FromSeconds(5))), timedOut, Options(), Links), StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_OnlyNonVotingJobsFailed_BuildSucceededAndPlusOne()
    {
        GerritVerdict verdict = GerritReview.Decide(
            Run(Cell(1, "a", JobResult.Success, TimeSpan.FromSeconds(1)), Cell(2, "experimental", JobResult.Failure, TimeSpan.FromSeconds(1))),
            Options(voting: true, "experimental"));

        Assert.Equal((GerritVerdictKind.Post, true, 1), (verdict.Kind, verdict.Passed, verdict.Vote));
    }

    [Fact]
    public void Decide_VotingOffOrOnlyNonVotingJobs_CommentWithoutAVote()
    {
        GerritVerdict off = GerritReview.Decide(Run(Cell(1, "a", JobResult.Failure, TimeSpan.FromSeconds(1))), Options(voting: false));
        GerritVerdict allNonVoting = GerritReview.Decide(Run(Cell(1, "a", JobResult.Failure, TimeSpan.FromSeconds(1))), Options(voting: true, "a"));

        Assert.Equal((GerritVerdictKind.Post, false, (int?)null), (off.Kind, off.Passed, off.Vote));
        Assert.Equal((GerritVerdictKind.Post, true, (int?)null), (allNonVoting.Kind, allNonVoting.Passed, allNonVoting.Vote));
    }

    [Theory]
    [InlineData(JobResult.Error)]
    [InlineData(JobResult.Interrupted)]
    [InlineData(JobResult.Cancelled)]
    public void Decide_AnyJobEndedWithoutAVerdict_HeldWithTheJobAndWhatToDo(JobResult result)
    {
        GerritVerdict verdict = GerritReview.Decide(
            Run(Cell(1, "a", JobResult.Failure, TimeSpan.FromSeconds(1)), Cell(2, "b", result, TimeSpan.FromSeconds(1), summary: "The image cirunner/release:zed is missing.")),
            Options(voting: true, "b"));

        Assert.Equal(GerritVerdictKind.Hold, verdict.Kind);
        Assert.Null(verdict.Vote);
        Assert.Contains($"job cirunner-zed-b (job 2) ended {result.ToString().ToLowerInvariant()}", verdict.Reason, StringComparison.Ordinal);
        Assert.Contains("The image cirunner/release:zed is missing", verdict.Reason, StringComparison.Ordinal);
        Assert.Contains("recheck Acme CI", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_SupersededOrEmptyRun_Skipped()
    {
        GerritVerdict superseded = GerritReview.Decide(Run(Cell(1, "a", JobResult.Superseded, null, summary: "superseded by run 43")), Options());
        GerritVerdict empty = GerritReview.Decide(Run(), Options());

        Assert.Equal(GerritVerdictKind.Skip, superseded.Kind);
        Assert.Contains("superseded by run 43", superseded.Reason, StringComparison.Ordinal);
        Assert.Equal(GerritVerdictKind.Skip, empty.Kind);
    }

    [Theory]
    [InlineData(0.4, "0s")]
    [InlineData(45, "45s")]
    [InlineData(60, "1m 00s")]
    [InlineData(192, "3m 12s")]
    [InlineData(3723, "1h 02m 03s")]
    [InlineData(90061, "25h 01m 01s")]
    public void FormatDuration_LikeCiComments(double seconds, string expected) =>
        Assert.Equal(expected, GerritReview.FormatDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Tag_IsAutogenerated_AndNamesTheCi() =>
        Assert.Equal("autogenerated:cirunner:acme-ci", GerritReview.Tag(Options()));

    [Fact]
    public void JobNames_ReadableAndStable_ForEveryKindOfCell()
    {
        Assert.Equal("cirunner-zed-scenario001", JobNames.For(JobKind.Deploy, "zed", null, "scenario001"));
        Assert.Equal("cirunner-zed-2023.1-scenario001-upgrade", JobNames.For(JobKind.Upgrade, "2023.1", "zed", "scenario001"));
        Assert.Equal("cirunner-2023.1-2024.1-scenario002-rollback", JobNames.For(JobKind.Rollback, "2024.1", "2023.1", "scenario002"));
    }

    [Theory]
    [InlineData("refs/changes/45/12345/3", 12345, 3)]
    [InlineData("refs/changes/01/1/12", 1, 12)]
    public void ChangeRef_ParsesAndFormatsPatchSetRefs(string value, int number, int patchSet)
    {
        Assert.True(ChangeRef.TryParse(value, out ChangeRef parsed));
        Assert.Equal((number, patchSet), (parsed.Number, parsed.PatchSet));
        Assert.Equal(value, parsed.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("refs/heads/master")]
    [InlineData("refs/changes/45/12345/meta")]
    [InlineData("refs/changes/45/12345")]
    public void ChangeRef_RejectsOtherRefs(string? value) => Assert.False(ChangeRef.TryParse(value, out _));
}
