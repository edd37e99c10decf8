using CiRunner.Web.Pages;

namespace CiRunner.Tests.Web;

/// <summary>The words the pages show: results readable without color, ages and durations short.</summary>
public sealed class PageTextTests
{
    [Fact]
    public void Describe_EveryResult_HasItsOwnSymbolWordAndClass()
    {
        List<(string Symbol, string Word, string CssClass)> all = Enum.GetValues<JobResult>().Select(r => PageText.Describe(r)).ToList();

        Assert.Equal(all.Count, all.Select(d => d.Symbol).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(all.Count, all.Select(d => d.Word).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(("✓", "passed"), (PageText.Describe(JobResult.Success).Symbol, PageText.Describe(JobResult.Success).Word));
        Assert.Equal(("✗", "failed"), (PageText.Describe(JobResult.Failure).Symbol, PageText.Describe(JobResult.Failure).Word));
        Assert.Equal("running", PageText.Describe(null, JobState.Running).Word);
        Assert.Equal("queued", PageText.Describe(null, JobState.Queued).Word);
    }

    [Fact]
    public void Age_And_Duration_ReadAsShortWords()
    {
        var now = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal("3 h ago", PageText.Age(now.AddHours(-3), now));
        Assert.Equal("just now", PageText.Age(now.AddSeconds(-5), now));
        Assert.Equal("4 d ago", PageText.Age(now.AddDays(-4), now));
        Assert.Equal("2 min 5 s", PageText.Duration(TimeSpan.FromSeconds(125)));
        Assert.Equal("", PageText.Duration(null));
    }
}
