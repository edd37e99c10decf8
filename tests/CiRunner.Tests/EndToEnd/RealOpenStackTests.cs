using System.Text.RegularExpressions;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.EndToEnd;

/// <summary>
/// Real OpenStack in the job containers (<see cref="RealOpenStackFixture"/>): Keystone and Glance deployed by the real
/// modules under systemd, a workload seeded and verified through the OpenStack API, and a node upgraded from Debian
/// 12's Zed to Debian 13's packages and the 2024.2 modules, offline. The assertions read what an operator reads: the
/// API's answers in the job log, and CiRunner's records (phases, steps, lockfile, package snapshot, idempotency findings).
/// </summary>
[Collection(RealOpenStackGroup.Name)]
[Trait("Category", "RealOpenStack")]
public sealed partial class RealOpenStackTests
{
    private readonly RealOpenStackFixture _real;

    public RealOpenStackTests(RealOpenStackFixture real)
    {
        _real = real;
    }

    [Fact]
    public void DeployCellOnZed_SeedsAWorkloadThroughTheApiAndVerifiesIt()
    {
        // Given keystone-glance deployed on zed
        JobDetail deploy = _real.Deploy;
        string log = _real.LogOf(deploy);

        // Then every step passed, in the deploy phase
        Assert.True(deploy.Job.Result == JobResult.Success, deploy.Job.Summary + "\n" + Tail(log));
        Assert.Equal(
            [
                ("deploy", "apply"), ("deploy", "idempotency"), ("deploy", "tempest"), ("deploy", "seed a project, a user and an image through the API"),
                ("deploy", "the workload user gets a token and downloads the image intact"),
            ],
            deploy.Steps.Select(s => (s.Phase, s.Name)));
        Assert.All(deploy.Steps, s => Assert.Equal(JobResult.Success, s.Result));

        // And the API answered: the user got a token, and the image it uploaded downloads with the recorded checksum
        Match seeded = Seeded().Match(log);
        Assert.True(seeded.Success, "no seed line in the log");
        Match verified = Verified().Match(log);
        Assert.True(verified.Success, "no verify line in the log");
        Assert.Equal((seeded.Groups["id"].Value, seeded.Groups["sha"].Value), (verified.Groups["id"].Value, verified.Groups["sha"].Value));
        Assert.Matches(@"out token for workload_user: [0-9a-f]{32}", log);
    }

    [Fact]
    public void DeployCellOnZed_ServicesPuppetStartedRunUnderSystemdUntilVerify()
    {
        // Given the deploy cell's log
        string log = _real.LogOf(_real.Deploy);

        // Then systemd booted as PID 1, Puppet started the services through it, and they served the verify step
        Assert.Contains("out systemd: running", log, StringComparison.Ordinal);
        Assert.Matches(@"== systemd is up after [0-9.]+ s", log);
        Assert.Contains("Service[glance-api]", log, StringComparison.Ordinal);
        Assert.Contains("Service[httpd]", log, StringComparison.Ordinal);
        Assert.Contains("Service[mysqld]", log, StringComparison.Ordinal);
        Assert.Equal(JobResult.Success, _real.Deploy.Steps[^1].Result);
    }

    [Fact]
    public void DeployCellOnZed_LockfileHasEveryModuleAtItsCommitAndTheImage()
    {
        JobDetail deploy = _real.Deploy;
        Assert.StartsWith("sha256:", deploy.Job.ImageId, StringComparison.Ordinal);
        Assert.Contains(deploy.Modules, m => m.Module == "keystone" && m.CommitSha.Length == 40);
        Assert.Contains(deploy.Modules, m => m.Module == "mysql");
        Assert.All(deploy.Modules, m => Assert.Equal("deploy", m.Phase));
    }

    [Fact]
    public void UpgradeCell_MovesTheNodeToDebian13AndTheWorkloadSurvives()
    {
        // Given keystone-glance's upgrade cell zed -> 2024.2
        JobDetail upgrade = _real.Upgrade;
        string log = _real.LogOf(upgrade);

        // Then it ran deploy (zed), then upgrade: the packages moved onto the snapshot first, then the 2024.2 modules
        Assert.Equal(
            [
                ("deploy", "apply"), ("deploy", "idempotency"), ("deploy", "tempest"), ("deploy", "seed a project, a user and an image through the API"),
                ("deploy", "the workload user gets a token and downloads the image intact"),
                ("upgrade", "upgrade-packages"), ("upgrade", "apply"), ("upgrade", "idempotency"), ("upgrade", "tempest"),
                ("upgrade", "the workload user gets a token and downloads the image intact"),
            ],
            upgrade.Steps.Select(s => (s.Phase, s.Name)));
        Assert.True(upgrade.Job.Result == JobResult.Success, upgrade.Job.Summary + "\n" + Tail(log));

        // And the node is Debian 13 now: apt upgraded it from the snapshot, Puppet ran the database syncs
        Assert.Matches(@"out [0-9]+ upgraded, [0-9]+ newly installed, [0-9]+ to remove", log);
        string upgradePhase = log[log.IndexOf("phase upgrade:", StringComparison.Ordinal)..];
        Assert.Contains("Exec[keystone-manage db_sync]", upgradePhase, StringComparison.Ordinal);
        Assert.Contains("Exec[glance-manage db_sync]", upgradePhase, StringComparison.Ordinal);

        // And the image seeded on zed downloads intact on 2024.2, checked after each phase
        Match seeded = Seeded().Match(log);
        Assert.True(seeded.Success, "no seed line in the log");
        MatchCollection verified = Verified().Matches(log);
        Assert.Equal(2, verified.Count);
        Assert.All(verified, v => Assert.Equal(seeded.Groups["sha"].Value, v.Groups["sha"].Value));
    }

    [Fact]
    public void UpgradeCell_LockfileHasBothModuleSetsAndThePackageSnapshot()
    {
        JobDetail upgrade = _real.Upgrade;
        Assert.Contains(upgrade.Modules, m => m.Phase == "deploy" && m.Module == "keystone" && m.Ref == "unmaintained/zed");
        Assert.Contains(upgrade.Modules, m => m.Phase == "upgrade" && m.Module == "mysql" && m.Ref == "stable/2024.2");
        JobPackageSnapshotRecord snapshot = Assert.IsType<JobPackageSnapshotRecord>(upgrade.Job.PackageSnapshot);
        Assert.Equal("2024.2", snapshot.Release);
        Assert.Matches("^sha256:[0-9a-f]{64}$", snapshot.Id);
        Assert.True(snapshot.PackageCount > 400, $"{snapshot.PackageCount} packages");
    }

    [Fact]
    public void TempestRunsAfterDeployAndAfterUpgrade_EveryTestStoredAndNoneFailed()
    {
        // Given the identity and image smoke tests run by the scenario's tempest step
        JobDetail deploy = _real.Deploy;
        JobDetail upgrade = _real.Upgrade;

        // Then every test's result is stored with its job: Tempest 33 on zed, and 43 after the upgrade to Debian 13
        Assert.True(deploy.TempestTests.Count(t => t.Status == TempestTestStatus.Passed) >= 10, Describe(deploy.TempestTests));
        Assert.DoesNotContain(deploy.TempestTests, t => t.Status == TempestTestStatus.Failed);
        Assert.Contains(upgrade.TempestTests, t => t.Phase == "deploy" && t.Status == TempestTestStatus.Passed);
        Assert.True(upgrade.TempestTests.Count(t => t.Phase == "upgrade" && t.Status == TempestTestStatus.Passed) >= 10, Describe(upgrade.TempestTests));
        Assert.DoesNotContain(upgrade.TempestTests, t => t.Status == TempestTestStatus.Failed);
        Assert.Contains(upgrade.TempestTests, t => t.Phase == "upgrade" && t.TestId.StartsWith("tempest.api.image.", StringComparison.Ordinal));
    }

    [Fact]
    public void KeystoneDb_IdempotencyNamesTheRealCharsetFinding()
    {
        // Given keystone's database as the modules make it on MariaDB 10.11
        JobDetail job = _real.KeystoneDb;

        // Then the second apply is not idempotent, and the finding names the resource, property, values and module
        Assert.Equal(JobResult.Failure, job.Job.Result);
        Assert.Contains("not idempotent", job.Job.Summary, StringComparison.Ordinal);
        IdempotencyChangeRecord charset = Assert.Single(job.Changes, c => c.ResourceType == "Mysql_database" && c.Property == "charset");
        Assert.Equal(("keystone", "utf8mb3", "utf8", "openstacklib"), (charset.Title, charset.PreviousValue, charset.DesiredValue, charset.Module));
        Assert.Contains("Mysql_database[keystone] charset: utf8mb3 -> utf8 (module openstacklib)", job.Job.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Anchor[", job.Job.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryCell_LeavesNoContainer() => Assert.Equal(0, _real.ContainersLeft);

    private static string Describe(IReadOnlyList<TempestTestRecord> tests) =>
        string.Join('\n', tests.Select(t => $"{t.Phase} {t.Status} {t.TestId}"));

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(40));

    [GeneratedRegex(@"out seeded: image (?<id>[0-9a-f-]{36}) sha256 (?<sha>[0-9a-f]{64})")]
    private static partial Regex Seeded();

    [GeneratedRegex(@"out verified: image (?<id>[0-9a-f-]{36}) active, sha256 (?<sha>[0-9a-f]{64}) as uploaded")]
    private static partial Regex Verified();
}
