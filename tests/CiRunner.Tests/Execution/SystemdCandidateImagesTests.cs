using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

/// <summary>The images the start-up check and <c>validate</c> may boot to learn whether an engine boots systemd.</summary>
public sealed class SystemdCandidateImagesTests
{
    [Fact]
    public void CandidateImages_ReleasesSharingABaseImage_NameEachImageOnceBaseImagesFirst()
    {
        // Given two bookworm releases that boot systemd (one base image between them) and two that do not
        using var folder = new ConfigFolder();
        folder.Set("Releases:0:Init", "systemd");
        folder.Set("Releases:1:Init", "systemd");
        ConfigurationLoadResult loaded = folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));

        // Then the shared base image is named once, before the release images
        Assert.Equal(["cirunner/base:bookworm", "cirunner/release:zed", "cirunner/release:2023.1"], SystemdHostCheck.CandidateImages(loaded.Settings!));
    }
}
