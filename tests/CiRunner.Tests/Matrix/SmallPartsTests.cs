using CiRunner.Matrix;

namespace CiRunner.Tests.Matrix;

public sealed class BranchPatternTests
{
    [Theory]
    [InlineData("master", "master", true)]
    [InlineData("master", "main", false)]
    [InlineData("stable/*", "stable/2024.1", true)]
    [InlineData("stable/*", "unmaintained/2023.1", false)]
    [InlineData("stable/*", "stable/", true)]
    [InlineData("unmaintained/*", "unmaintained/zed", true)]
    [InlineData("*", "stable/2024.1", true)]
    [InlineData("stable/20*.1", "stable/2024.1", true)]
    [InlineData("stable/20*.1", "stable/2024.2", false)]
    [InlineData("*-eol", "2023.2-eol", true)]
    public void IsMatch_Glob_MatchesAsDocumented(string pattern, string branch, bool expected)
    {
        Assert.Equal(expected, BranchPattern.Parse(pattern).IsMatch(branch));
    }

    [Theory]
    [InlineData("")]
    [InlineData("stable/[2024]")]
    [InlineData("has space")]
    [InlineData("/stable")]
    [InlineData("stable/")]
    [InlineData("a..b")]
    [InlineData("x.lock")]
    public void TryParse_NotARefName_Fails(string pattern)
    {
        Assert.False(BranchPattern.TryParse(pattern, out _));
    }
}

public sealed class DurationTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("1h30m", 5400)]
    [InlineData("2h15m10s", 8110)]
    [InlineData("90d", 7776000)]
    [InlineData("1d12h", 129600)]
    [InlineData("00:10:00", 600)]
    [InlineData("1.00:00:00", 86400)]
    public void TryParse_AcceptedForms_GiveTheDuration(string text, int seconds)
    {
        Assert.True(Duration.TryParse(text, out TimeSpan value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("2x")]
    [InlineData("m5")]
    [InlineData("30m1h")]
    [InlineData("-00:01:00")]
    public void TryParse_OtherText_Fails(string text)
    {
        Assert.False(Duration.TryParse(text, out _));
    }

    [Theory]
    [InlineData(5400, "1h30m")]
    [InlineData(45, "45s")]
    [InlineData(0, "0s")]
    [InlineData(7200, "2h")]
    public void Format_GivesTheShortForm(int seconds, string expected)
    {
        Assert.Equal(expected, Duration.Format(TimeSpan.FromSeconds(seconds)));
    }
}

public sealed class UrlCredentialsTests
{
    [Theory]
    [InlineData("https://bob:hunter2@example.org/x", "https://bob:***@example.org/x")]
    [InlineData("https://bob@example.org/x", "https://bob@example.org/x")]
    [InlineData("ssh://git@example.org:29418/x", "ssh://git@example.org:29418/x")]
    [InlineData("https://example.org/a@b", "https://example.org/a@b")]
    [InlineData("git@example.org:x.git", "git@example.org:x.git")]
    public void Redact_HidesOnlyPasswords(string url, string expected)
    {
        Assert.Equal(expected, UrlCredentials.Redact(url));
        Assert.Equal(url != expected, UrlCredentials.HasPassword(url));
    }

    [Theory]
    [InlineData("failed to fetch https://bob:hunter2@example.org/x: 401", "failed to fetch https://***@example.org/x: 401")]
    [InlineData("remote https://ghp_token123@github.com/o/r refused", "remote https://***@github.com/o/r refused")]
    [InlineData("a https://a:b@h1/x and ssh://c:d@h2/y", "a https://***@h1/x and ssh://***@h2/y")]
    [InlineData("no login in https://example.org/a@b", "no login in https://example.org/a@b")]
    public void RedactText_HidesEveryLoginInAMessage(string text, string expected)
    {
        // The whole user part goes: a token is often given as the user name alone.
        Assert.Equal(expected, UrlCredentials.RedactText(text));
    }
}
