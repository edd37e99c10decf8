using System.CommandLine;
using CiRunner.Cli;
using CiRunner.Execution;
using CiRunner.Tests.Fixtures;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Cli;

/// <summary><c>validate</c> without an engine: a note, never an error, so it stays usable offline.</summary>
public sealed class ValidateWithoutEngineTests
{
    [Fact]
    public async Task Validate_EngineDoesNotAnswer_NotesItAndStillExitsZero()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:Endpoint", "unix:///nonexistent/docker.sock");
        folder.Set("Releases:3:PackageSnapshot", true);
        folder.Save();

        (int exitCode, string output, string error) = await ValidateEngineTests.RunAsync("validate", "--config", folder.ConfigFile);

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains("Note: the Docker engine at unix:///nonexistent/docker.sock did not answer (", output, StringComparison.Ordinal);
        Assert.Contains("release images and package snapshots were not checked", output, StringComparison.Ordinal);
        Assert.Matches(@"4\.\s+2024\.2\s+development\s+cirunner/release:2024\.2\s+master\s+3 modules\s+bookworm, package snapshot", output);
    }
}

/// <summary><c>validate</c> against the real engine: which release images and package snapshots it has, and what builds the rest.</summary>
[Collection(DockerImagesGroup.Name)]
[Trait("Category", "Docker")]
public sealed class ValidateEngineTests : IAsyncLifetime, IDisposable
{
    private readonly DockerEngineFixture _engine;
    private readonly ConfigFolder _folder = new();
    private readonly string _volume = $"cirunner-test-snapshot-{Guid.NewGuid():N}";
    private readonly string _missingImage = $"cirunner-test/validate:{Guid.NewGuid():N}";

    public ValidateEngineTests(DockerEngineFixture engine)
    {
        _engine = engine;
    }

    [Fact]
    public async Task Validate_EngineAnswers_SaysWhichImagesAndSnapshotsArePresentAndWhatBuildsTheMissingOnes()
    {
        // Given zed on an image the engine has with a complete snapshot of it, and 2024.2 on a missing image, both with
        // PackageSnapshot (the snapshot stands in for a real one: a volume with the labels and the completion marker)
        const string Id = "sha256:5f2c7a0e9d1b4c3a8e6f0d2b1a9c8e7f6d5c4b3a2918f7e6d5c4b3a2f1e0d9c8";
        _folder.Set("Docker:Endpoint", _engine.Endpoint);
        _folder.Set("Releases:0:Image", _engine.PuppetImage);
        _folder.Set("Releases:0:PackageSnapshot", true);
        _folder.Set("Releases:3:Image", _missingImage);
        _folder.Set("Releases:3:PackageSnapshot", true);
        _folder.Save();
        await _engine.Docker.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = _volume,
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Managed] = ContainerLabels.ManagedValue,
                [ContainerLabels.Snapshot] = ContainerLabels.ManagedValue,
                [ContainerLabels.Release] = "zed",
                [ContainerLabels.Image] = _engine.PuppetImage,
                [ContainerLabels.ImageId] = _engine.PuppetImageId,
                [ContainerLabels.SnapshotId] = Id,
            },
        });
        ThrowawayResult written = await ThrowawayContainer.RunAsync(
            _engine.Docker,
            new ThrowawayRun(_engine.PuppetImage, ["/bin/sh", "-c", $"printf 'id={Id}\\npackages=558\\nbytes=182000000\\n' > /s/.complete"], "test")
            {
                Mounts = [new Mount { Type = "volume", Source = _volume, Target = "/s" }],
            },
            TimeProvider.System,
            null,
            CancellationToken.None);
        Assert.Equal(0, written.ExitCode);

        // When the configuration is validated
        (int exitCode, string output, string error) = await RunAsync("validate", "--config", _folder.ConfigFile);

        // Then each release's image and wanted snapshot has a line: present with its id, or the command that builds it
        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains($"Release images and package snapshots on the Docker engine ({_engine.Endpoint}):", output, StringComparison.Ordinal);
        Assert.Matches($@"zed\s+image {_engine.PuppetImage}\s+present \({_engine.PuppetImageId}\)", output);
        Assert.Matches($@"zed\s+package snapshot\s+present: {Id} \(558 packages, 182 MB, volume {_volume}\)", output);
        Assert.Matches($@"2024\.2\s+image {_missingImage}\s+missing: build it with `cirunner images build --release 2024\.2`", output);
        Assert.Matches(@"2024\.2\s+package snapshot\s+missing: build it with `cirunner images build --release 2024\.2`", output);
        Assert.DoesNotMatch(@"2023\.1\s+package snapshot", output);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            await _engine.Docker.Volumes.RemoveAsync(_volume, force: true);
        }
        catch (Docker.DotNet.DockerApiException)
        {
            // The test failed before it made the volume.
        }
    }

    public void Dispose() => _folder.Dispose();

    internal static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}
