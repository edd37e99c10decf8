using CiRunner.Execution;

namespace CiRunner.Tests.Execution;

public sealed class PuppetReportParserTests
{
    /// <summary>
    /// Captured from Debian 12's Puppet 7.23 in a job container: the second apply of a manifest whose module
    /// writes a timestamp into /etc/demo.conf (after a chmod 600), runs an exec every time, and whose scenario
    /// manifest has a notify.
    /// </summary>
    private static string CapturedReport() =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Execution", "TestData", "last_run_report.nonidempotent.yaml"));

    [Fact]
    public void ParseChanges_CapturedReport_ListsEachChangedPropertyWithItsModule()
    {
        IReadOnlyList<IdempotencyChange> changes = PuppetReportParser.ParseChanges(CapturedReport());

        Assert.Equal(
            ["File[/etc/demo.conf] content", "File[/etc/demo.conf] mode", "Exec[always] returns", "Notify[scenario says hello] message"],
            changes.Select(c => $"{c.Resource} {c.Property}"));

        IdempotencyChange mode = changes[1];
        Assert.Equal(("0600", "0644"), (mode.OldValue, mode.NewValue));
        Assert.Equal("demo", mode.Module);
        Assert.Equal("/cirunner/modules/demo/manifests/init.pp", mode.File);
        Assert.Equal(2, mode.Line);
    }

    [Fact]
    public void ParseChanges_ContentChecksumWrittenAsBase64_IsDecoded()
    {
        IdempotencyChange content = PuppetReportParser.ParseChanges(CapturedReport())[0];

        Assert.Equal("{sha256}4de8f2a34af63981d81fb6ff1d1859c2cdfbcbbf787be583446d4605c0fd5404", content.OldValue);
        Assert.Equal("{sha256}a57f0dc80453d61d158caa1f3613adb260b191751151dd9372c8f6680bda8745", content.NewValue);
    }

    [Fact]
    public void ParseChanges_ScenarioManifestResourceAndListValue_HaveNoModuleAndBracketedValue()
    {
        IReadOnlyList<IdempotencyChange> changes = PuppetReportParser.ParseChanges(CapturedReport());

        IdempotencyChange exec = changes.Single(c => c.ResourceType == "Exec");
        Assert.Equal(("notrun", "[0]"), (exec.OldValue, exec.NewValue));

        IdempotencyChange notify = changes.Single(c => c.ResourceType == "Notify");
        Assert.Null(notify.Module);
        Assert.Equal("/cirunner/scenario/site.pp", notify.File);
        Assert.Equal("Notify[scenario says hello] message: absent -> scenario says hello", notify.Describe());
    }

    [Fact]
    public void ParseChanges_UnchangedResources_AreLeftOut()
    {
        IReadOnlyList<IdempotencyChange> changes = PuppetReportParser.ParseChanges(CapturedReport());

        Assert.DoesNotContain(changes, c => c.ResourceType == "Schedule" || c.ResourceType == "Filebucket");
    }

    [Fact]
    public void ParseChanges_ChangedResourceWithoutEvents_StillGetsARow()
    {
        const string report = """
            --- !ruby/object:Puppet::Transaction::Report
            resource_statuses:
              Service[demo]:
                title: demo
                file: "/cirunner/modules/demo/manifests/service.pp"
                line: 7
                resource_type: Service
                changed: true
                events: []
            """;

        IdempotencyChange change = Assert.Single(PuppetReportParser.ParseChanges(report));

        Assert.Equal("Service[demo] (module demo)", change.Describe());
    }

    [Theory]
    [InlineData("not: [valid")]
    [InlineData("--- !ruby/object:Puppet::Transaction::Report\nhost: x\n")]
    public void ParseChanges_NotAReport_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => PuppetReportParser.ParseChanges(text));
    }

    [Theory]
    [InlineData("/cirunner/modules/keystone/manifests/init.pp", "keystone")]
    [InlineData("/cirunner/modules/nova/manifests/api/wsgi.pp", "nova")]
    [InlineData("/cirunner/scenario/scenario001.pp", null)]
    [InlineData(null, null)]
    public void ModuleOf_ManifestPath_NamesTheModuleFolder(string? path, string? module)
    {
        Assert.Equal(module, PuppetReportParser.ModuleOf(path));
    }

    [Fact]
    public void ParseChanges_PasswordProperty_RedactsTheValueButKeepsAbsent()
    {
        // Given a report like the Zed keystone modules' second apply: a user's password "set" again, in plain text
        const string Report = """
            --- !ruby/object:Puppet::Transaction::Report
            resource_statuses:
              Keystone_user[admin]:
                title: admin
                file: "/cirunner/modules/keystone/manifests/bootstrap.pp"
                line: 172
                resource_type: Keystone_user
                changed: true
                events:
                - property: password
                  previous_value:
                  desired_value: a_big_secret
                  status: success
                - property: email
                  previous_value: old@localhost
                  desired_value: admin@localhost
                  status: success
            """;

        // When it is parsed
        IReadOnlyList<IdempotencyChange> changes = PuppetReportParser.ParseChanges(Report);

        // Then the secret never leaves the report, and the rest reads as usual
        Assert.Equal(
            ["Keystone_user[admin] password: absent -> (redacted) (module keystone)", "Keystone_user[admin] email: old@localhost -> admin@localhost (module keystone)"],
            changes.Select(c => c.Describe()));
        Assert.DoesNotContain(changes, c => c.NewValue == "a_big_secret" || c.OldValue == "a_big_secret");
    }

    [Fact]
    public void ParseChanges_AnchorPassingARefreshOn_IsNotAChange()
    {
        // Given a report where a real change refreshed an anchor (as keystone::deps' anchors are)
        const string Report = """
            resource_statuses:
              Mysql_database[keystone]:
                title: keystone
                file: "/cirunner/modules/openstacklib/manifests/db/mysql.pp"
                line: 74
                resource_type: Mysql_database
                changed: true
                events:
                - property: charset
                  previous_value: utf8mb3
                  desired_value: utf8
                  status: success
              Anchor[keystone::db::end]:
                title: keystone::db::end
                file: "/cirunner/modules/keystone/manifests/deps.pp"
                line: 41
                resource_type: Anchor
                changed: true
                events: []
            """;

        // Then only the real change is listed
        IdempotencyChange change = Assert.Single(PuppetReportParser.ParseChanges(Report));
        Assert.Equal("Mysql_database[keystone] charset: utf8mb3 -> utf8 (module openstacklib)", change.Describe());
    }
}
