using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>The Gerrit and Reporting sections and Http:PublicUrl: what is read, the defaults, and an error per bad value.</summary>
public sealed class ReportingConfigurationTests
{
    /// <summary>A broken reporting setting and where its error must point (Value null: reported as missing).</summary>
    public sealed record BrokenSetting(Action<ConfigFolder> Break, string Location, string? Value, string Expected);

    private static readonly Dictionary<string, BrokenSetting> _cases = new()
    {
        ["gerrit url missing"] = new(c => c.Section("Gerrit").AsObject().Remove("Url"), "Gerrit:Url", null, "base URL"),
        ["gerrit url with /a/"] = new(c => c.Set("Gerrit:Url", "https://review.example.org/a/"), "Gerrit:Url", "https://review.example.org/a/", "without /a/"),
        ["gerrit url with a login"] = new(c => c.Set("Gerrit:Url", "https://ci:pw@review.example.org"), "Gerrit:Url", "https://ci:***@review.example.org", "without user:password@"),
        ["gerrit ci name missing"] = new(c => c.Section("Gerrit").AsObject().Remove("CiName"), "Gerrit:CiName", null, "the CI's name"),
        ["gerrit contact not a URL"] = new(c => c.Set("Gerrit:ContactUrl", "ask on IRC"), "Gerrit:ContactUrl", "ask on IRC", "contact page"),
        ["gerrit password in the file"] = new(c => c.Set("Gerrit:Password", "hunter2"), "Gerrit:Password", ConfigurationError.Redacted, "environment variable"),
        ["gerrit password variable not a name"] = new(c => c.Set("Gerrit:PasswordVariable", "GERRIT-PASSWORD"), "Gerrit:PasswordVariable", "GERRIT-PASSWORD", "environment variable name"),
        ["gerrit notify unknown"] = new(c => c.Set("Gerrit:Notify", "EVERYONE"), "Gerrit:Notify", "EVERYONE", "NONE, OWNER, OWNER_REVIEWERS or ALL"),
        ["gerrit label with spaces"] = new(c => c.Set("Gerrit:Label", "Third Party"), "Gerrit:Label", "Third Party", "label name"),
        ["gerrit voting not a boolean"] = new(c => c.Set("Gerrit:Voting", "maybe"), "Gerrit:Voting", "maybe", "true or false"),
        ["gerrit recheck interval too short"] = new(c => c.Set("Gerrit:RecheckInterval", "1s"), "Gerrit:RecheckInterval", "1s", "at least 5s"),
        ["gerrit project of an unknown module"] = new(c => c.Set("Gerrit:Projects", new JsonObject { ["nova"] = "openstack/puppet-nova" }), "Gerrit:Projects:nova", "nova", "configured module name"),
        ["gerrit project name invalid"] = new(c => c.Set("Gerrit:Projects", new JsonObject { ["keystone"] = "/openstack/puppet keystone.git" }), "Gerrit:Projects:keystone", "/openstack/puppet keystone.git", "Gerrit project name"),
        ["gerrit non-voting scenario unknown"] = new(c => c.Set("Gerrit:NonVotingScenarios", new JsonArray("scenario009")), "Gerrit:NonVotingScenarios:0", "scenario009", "basic, lib-only"),
        ["gerrit key misspelt"] = new(c => c.Set("Gerrit:Vote", true), "Gerrit:Vote", "Vote", "one of the keys"),
        ["gerrit without change refs"] = new(c => c.Set("Modules:0:ChangeRefs", false), "Gerrit", "(a Gerrit server)", "ChangeRefs"),
        ["reporting junit not a boolean"] = new(c => c.Set("Reporting:JUnit", "yes"), "Reporting:JUnit", "yes", "true or false"),
        ["reporting retry delay too short"] = new(c => c.Set("Reporting:RetryDelay", "0s"), "Reporting:RetryDelay", "0s", "at least 1s"),
        ["reporting max retry delay below the first"] = new(c => { c.Set("Reporting:RetryDelay", "5m"); c.Set("Reporting:MaxRetryDelay", "1m"); }, "Reporting:MaxRetryDelay", "1m", "no shorter than Reporting:RetryDelay"),
        ["webhook url not http"] = new(c => c.Set("Reporting:Webhooks", new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = "ftp://chat.example.org/hook" })), "Reporting:Webhooks:0:Url", "ftp://chat.example.org/hook", "http:// or https://"),
        ["webhook name duplicate"] = new(c => c.Set("Reporting:Webhooks", new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = "https://a.example.org/" }, new JsonObject { ["Name"] = "chat", ["Url"] = "https://b.example.org/" })), "Reporting:Webhooks:1:Name", "chat", "Reporting:Webhooks:0"),
        ["webhook secret in the file"] = new(c => c.Set("Reporting:Webhooks", new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = "https://a.example.org/", ["Secret"] = "hunter2" })), "Reporting:Webhooks:0:Secret", ConfigurationError.Redacted, "environment variable"),
        ["public url not absolute"] = new(c => c.Set("Http:PublicUrl", "ci.example.org"), "Http:PublicUrl", "ci.example.org", "reviewers reach"),
    };

    public static TheoryData<string> CaseNames => new(_cases.Keys);

    [Fact]
    public void Load_FullReportingConfiguration_IsRead()
    {
        using ConfigFolder folder = WithGerrit();
        folder.Set("Gerrit:Voting", true);
        folder.Set("Gerrit:Label", "Third-Party-CI");
        folder.Set("Gerrit:Notify", "NONE");
        folder.Set("Gerrit:Projects", new JsonObject { ["keystone"] = "x/puppet-keystone" });
        folder.Set("Gerrit:NonVotingScenarios", new JsonArray("lib-only"));
        folder.Set("Gerrit:RecheckInterval", "30s");
        folder.Set("Http:PublicUrl", "https://ci.example.org/cirunner/");
        folder.Set("Reporting", new JsonObject
        {
            ["JUnit"] = false,
            ["RetryDelay"] = "10s",
            ["MaxRetryDelay"] = "1h",
            ["Webhooks"] = new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = "https://chat.example.org/hooks/ci", ["SecretVariable"] = "CHAT_SECRET" }),
        });

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        GerritOptions gerrit = result.Settings.Gerrit!;
        Assert.Equal(("https://review.example.org", "Acme CI", true, "Third-Party-CI", "NONE"), (gerrit.Url, gerrit.CiName, gerrit.Voting, gerrit.Label, gerrit.Notify));
        Assert.Equal(("x/puppet-keystone", "openstack/puppet-openstacklib"), (gerrit.ProjectOf("keystone"), gerrit.ProjectOf("openstacklib")));
        Assert.Equal(["lib-only"], gerrit.NonVotingScenarios);
        Assert.Equal(TimeSpan.FromSeconds(30), gerrit.RecheckInterval);
        Assert.Equal("https://ci.example.org/cirunner", result.Settings.Http.PublicUrl);
        ReportingOptions reporting = result.Settings.Reporting;
        Assert.False(reporting.JUnit);
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromHours(1)), (reporting.RetryDelay, reporting.MaxRetryDelay));
        WebhookOptions webhook = Assert.Single(reporting.Webhooks);
        Assert.Equal(("chat", "https://chat.example.org/hooks/ci", "CHAT_SECRET"), (webhook.Name, webhook.Url, webhook.SecretVariable));
    }

    [Fact]
    public void Load_NoReportingSections_JUnitOnNoGerritNoWebhooks_PublicUrlFromListen()
    {
        using var folder = new ConfigFolder();

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Null(result.Settings.Gerrit);
        Assert.True(result.Settings.Reporting.JUnit);
        Assert.Empty(result.Settings.Reporting.Webhooks);
        Assert.Equal("http://127.0.0.1:8080", result.Settings.Http.PublicUrl);
    }

    [Fact]
    public void Load_GerritDefaults_CommentOnlyVerifiedOwnerEveryTwoMinutes()
    {
        using ConfigFolder folder = WithGerrit();

        GerritOptions gerrit = folder.Load().Settings!.Gerrit!;

        Assert.Equal((false, "Verified", "OWNER", TimeSpan.FromMinutes(2)), (gerrit.Voting, gerrit.Label, gerrit.Notify, gerrit.RecheckInterval));
        Assert.Equal(("CIRUNNER_GERRIT_USERNAME", "CIRUNNER_GERRIT_PASSWORD"), (gerrit.UsernameVariable, gerrit.PasswordVariable));
        Assert.Equal("openstack/puppet-keystone", gerrit.ProjectOf("keystone"));
    }

    [Fact]
    public void ValidateSummary_SaysWhereReportsGo_AndWhetherTheLoginIsSet_NeverItsValue()
    {
        using ConfigFolder folder = WithGerrit();
        folder.Set("Reporting:Webhooks", new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = "https://chat.example.org/hook", ["SecretVariable"] = "CHAT_SECRET" }));
        CiRunnerSettings settings = folder.Load().Settings!;
        var summary = new StringWriter();

        ConfigurationReport.WriteSummary(summary, settings, name => name == "CIRUNNER_GERRIT_PASSWORD" ? "hunter2" : null);

        string text = summary.ToString();
        Assert.Contains("  reporting   links to http://127.0.0.1:8080; JUnit on; webhooks: chat (signed, secret from $CHAT_SECRET (not set))", text, StringComparison.Ordinal);
        Assert.Contains("  gerrit      https://review.example.org as 'Acme CI', comment only, login $CIRUNNER_GERRIT_USERNAME (not set) / $CIRUNNER_GERRIT_PASSWORD (set), recheck read every 2m", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://*:8080", "http://{host}:8080")]
    [InlineData("http://+:8080/", "http://{host}:8080")]
    [InlineData("https://0.0.0.0:8443", "https://{host}:8443")]
    [InlineData("http://[::]:80", "http://{host}:80")]
    [InlineData("http://ci.example.org:8080", "http://ci.example.org:8080")]
    public void DerivePublicUrl_AWildcardHostBecomesThisMachinesName(string listen, string expected) =>
        Assert.Equal(expected.Replace("{host}", System.Net.Dns.GetHostName().ToLowerInvariant(), StringComparison.Ordinal), ConfigurationLoader.DerivePublicUrl(listen));

    [Theory]
    [InlineData(1, 30)]
    [InlineData(2, 60)]
    [InlineData(3, 120)]
    [InlineData(7, 1800)]
    [InlineData(40, 1800)]
    public void BackoffAfter_DoublesFromRetryDelay_UpToMaxRetryDelay(int attempt, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), new ReportingOptions().BackoffAfter(attempt));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Load_OneReportingSettingBroken_ErrorNamesTheKeyAndTheValue(string name)
    {
        BrokenSetting broken = _cases[name];
        using ConfigFolder folder = WithGerrit();
        broken.Break(folder);

        ConfigurationLoadResult result = folder.Load();

        Assert.False(result.Succeeded);
        string all = string.Join(Environment.NewLine, result.Errors);
        Assert.True(
            result.Errors.Any(e => e.Location == broken.Location
                && (broken.Value is null ? e.Value is null : e.Value == broken.Value)
                && e.Expected.Contains(broken.Expected, StringComparison.Ordinal)),
            $"No error for {broken.Location} '{broken.Value}'. Errors:{Environment.NewLine}{all}");
        Assert.DoesNotContain("hunter2", all, StringComparison.Ordinal);
        Assert.DoesNotContain(":pw@", all, StringComparison.Ordinal);
    }

    private static ConfigFolder WithGerrit()
    {
        var folder = new ConfigFolder();
        folder.Set("Modules:0:ChangeRefs", true);
        folder.Set("Gerrit", new JsonObject
        {
            ["Url"] = "https://review.example.org/",
            ["CiName"] = "Acme CI",
            ["ContactUrl"] = "https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI",
        });
        folder.Set("Reporting", new JsonObject());
        return folder;
    }
}
