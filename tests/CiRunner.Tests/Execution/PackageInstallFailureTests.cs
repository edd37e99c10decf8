using CiRunner.Execution;

namespace CiRunner.Tests.Execution;

public sealed class PackageInstallFailureTests
{
    /// <summary>
    /// Captured from Puppet 8.10 in a Debian 13 job container without network: keystone::cache asks for
    /// python3-pymemcache, which the image did not have.
    /// </summary>
    private static string[] CapturedOutput() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Execution", "TestData", "puppet-apply-package-offline.txt"));

    [Fact]
    public void Observe_CapturedOfflineInstall_NamesThePackageTheResourceAndApt()
    {
        // Given the output of an apply whose catalog installs a package the image lacks
        var failure = new PackageInstallFailure();

        // When every line is observed
        foreach (string line in CapturedOutput())
        {
            failure.Observe(line);
        }

        // Then the package, apt's own error line and the declaring resource are known
        Assert.Equal(["python3-pymemcache"], failure.Packages);
        Assert.Equal(
            "E: Failed to fetch http://deb.debian.org/debian/pool/main/p/python-pymemcache/python3-pymemcache_4.0.0-8_all.deb  Temporary failure resolving 'deb.debian.org'",
            failure.AptMessage);
        Assert.Equal("Keystone::Cache/Oslo::Cache[keystone_config]/Package[python-pymemcache]", failure.Resource);
        string described = failure.Describe("cirunner/release:2024.2", "2024.2")!;
        Assert.StartsWith("the catalog installs python3-pymemcache (Keystone::Cache/Oslo::Cache[keystone_config]/Package[python-pymemcache]), which image cirunner/release:2024.2 does not have", described, StringComparison.Ordinal);
        Assert.Contains("deploy/images/2024.2/Dockerfile", described, StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_ImageWithoutPackageLists_QuotesUnableToLocate()
    {
        // Given the shape apt's failure takes in a release image whose package lists were cleaned
        var failure = new PackageInstallFailure();
        string[] lines =
        [
            "Error: Execution of '/usr/bin/apt-get -q -y -o DPkg::Options::=--force-confold install mime-support' returned 100: Reading package lists...",
            "Building dependency tree...",
            "E: Unable to locate package mime-support",
            "Error: /Stage[main]/Apache::Mod::Mime/Package[mime-support]/ensure: change from 'purged' to 'present' failed: Execution of '/usr/bin/apt-get -q -y -o DPkg::Options::=--force-confold install mime-support' returned 100: Reading package lists...",
        ];

        // When observed
        foreach (string line in lines)
        {
            failure.Observe(line);
        }

        // Then apt's line is quoted
        Assert.Equal("E: Unable to locate package mime-support", failure.AptMessage);
        Assert.Equal("Apache::Mod::Mime/Package[mime-support]", failure.Resource);
    }

    [Fact]
    public void Observe_OrdinaryFailure_FindsNothing()
    {
        // Given a Puppet failure that has nothing to do with packages
        var failure = new PackageInstallFailure();
        failure.Observe("Error: /Stage[main]/Main/Exec[fail]/returns: change from 'notrun' to ['0'] failed: 'false' returned 1 instead of one of [0]");

        // Then nothing is found, and the step stays a test failure
        Assert.False(failure.Found);
        Assert.Null(failure.Describe("image", "zed"));
    }
}
