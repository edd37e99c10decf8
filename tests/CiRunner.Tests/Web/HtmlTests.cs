using CiRunner.Web;

namespace CiRunner.Tests.Web;

/// <summary>The dashboard's building blocks: results readable without color, values always encoded.</summary>
public sealed class HtmlTests
{
    [Fact]
    public void Describe_EveryResult_HasItsOwnSymbolWordAndClass()
    {
        List<(string Symbol, string Word, string CssClass)> all = Enum.GetValues<JobResult>().Select(r => Html.Describe(r)).ToList();

        Assert.Equal(all.Count, all.Select(d => d.Symbol).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(all.Count, all.Select(d => d.Word).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(("✓", "passed"), (Html.Describe(JobResult.Success).Symbol, Html.Describe(JobResult.Success).Word));
        Assert.Equal(("✗", "failed"), (Html.Describe(JobResult.Failure).Symbol, Html.Describe(JobResult.Failure).Word));
        Assert.Equal("running", Html.Describe(null, JobState.Running).Word);
        Assert.Equal("queued", Html.Describe(null, JobState.Queued).Word);
    }

    [Fact]
    public void E_MarkupInAValue_IsEncoded()
    {
        Assert.Equal("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;", Html.E("<script>alert(\"x\")</script> & '"));
        Assert.Equal("", Html.E(null));
    }

    [Fact]
    public void Age_And_Duration_ReadAsShortWords()
    {
        var now = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

        Assert.Contains(">3 h ago<", Html.Age(now.AddHours(-3), now), StringComparison.Ordinal);
        Assert.Contains(">just now<", Html.Age(now.AddSeconds(-5), now), StringComparison.Ordinal);
        Assert.Equal("2 min 5 s", Html.Duration(TimeSpan.FromSeconds(125)));
        Assert.Equal("", Html.Age(null, now));
    }
}
