using System.Security.Cryptography;
using System.Text;
using CiRunner.Execution;

namespace CiRunner.Tests.Execution;

/// <summary>How a package snapshot is identified and named, without an engine.</summary>
public sealed class PackageSnapshotRecipeTests
{
    private const string ImageId = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    [Fact]
    public void ComputeId_PackageList_IsTheSha256OfTheListFollowedByTheUpgradeScript()
    {
        // Given a package list as the build script prints it
        const string List = "adduser=3.134\nhello=2.10-3\n";

        // When its id is computed
        string id = PackageSnapshotRecipe.ComputeId(List);

        // Then it is what `cat packages.list upgrade-node | sha256sum` gives inside the snapshot
        byte[] both = [.. Encoding.UTF8.GetBytes(List), .. PackageSnapshotRecipe.UpgradeScript];
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(both)), id);
        Assert.NotEqual(id, PackageSnapshotRecipe.ComputeId("adduser=3.134\nhello=2.10-4\n"));
    }

    [Fact]
    public void NormalizePackageList_ScriptOutput_OneNameVersionPerLineEachEndingInANewline()
    {
        Assert.Equal("hello=2.10-3\nlibc6:i386=2.36-9+deb12u10\npython3-six=1.16.0-4\n",
            PackageSnapshotRecipe.NormalizePackageList("hello=2.10-3\r\nlibc6:i386=2.36-9+deb12u10\npython3-six=1.16.0-4"));
        Assert.Equal("keystone=2:27.0.0-1\n", PackageSnapshotRecipe.NormalizePackageList("keystone=2:27.0.0-1\n\n"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("sh: 1: dpkg-query: not found\n")]
    [InlineData("hello=2.10-3\nhello\n")]
    public void NormalizePackageList_NotAPackageList_IsNull(string output)
    {
        Assert.Null(PackageSnapshotRecipe.NormalizePackageList(output));
    }

    [Fact]
    public void VolumeName_SameInputs_IsStableAndNamesTheRelease()
    {
        string id = PackageSnapshotRecipe.ComputeId("hello=2.10-3\n");

        string name = PackageSnapshotRecipe.VolumeName("2024.2", ImageId, id);

        Assert.Matches("^cirunner-snapshot-2024\\.2-[0-9a-f]{12}$", name);
        Assert.Equal(name, PackageSnapshotRecipe.VolumeName("2024.2", ImageId, id));
    }

    [Fact]
    public void VolumeName_RebuiltImageWithTheSamePackages_IsAnotherVolume()
    {
        // Each snapshot belongs to one image: a rebuilt image gets its own, even with an equal package list.
        string id = PackageSnapshotRecipe.ComputeId("hello=2.10-3\n");
        string rebuilt = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

        Assert.NotEqual(PackageSnapshotRecipe.VolumeName("2024.2", ImageId, id), PackageSnapshotRecipe.VolumeName("2024.2", rebuilt, id));
        Assert.NotEqual(PackageSnapshotRecipe.VolumeName("2024.2", ImageId, id), PackageSnapshotRecipe.VolumeName("2024.2", ImageId, PackageSnapshotRecipe.ComputeId("hello=2.10-4\n")));
    }

    [Fact]
    public void Hash_CoversBothScripts()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string name, byte[] content) in new[] { ("build-snapshot.sh", PackageSnapshotRecipe.BuildScript), ("upgrade-node", PackageSnapshotRecipe.UpgradeScript) })
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"file {name}\n{content.Length}\n"));
            hash.AppendData(content);
        }

        Assert.Equal(Convert.ToHexStringLower(hash.GetHashAndReset()), PackageSnapshotRecipe.Hash);
        Assert.Contains("apt-ftparchive packages pool", Encoding.UTF8.GetString(PackageSnapshotRecipe.BuildScript), StringComparison.Ordinal);
        Assert.Contains("deb [trusted=yes] file:$snap ./", Encoding.UTF8.GetString(PackageSnapshotRecipe.UpgradeScript), StringComparison.Ordinal);
    }

    [Fact]
    public void ParseCompleteMarker_WhatTheBuildScriptWrites_IdPackagesAndBytes()
    {
        Assert.Equal(("sha256:abc", 558, 182_000_000L), PackageSnapshotRecipe.ParseCompleteMarker("id=sha256:abc\npackages=558\nbytes=182000000\n"));
        Assert.Null(PackageSnapshotRecipe.ParseCompleteMarker("id=sha256:abc\npackages=558\n"));
        Assert.Null(PackageSnapshotRecipe.ParseCompleteMarker("cat: /snapshot/.complete: No such file or directory"));
    }
}
