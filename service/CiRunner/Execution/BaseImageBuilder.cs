using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>What the offline base image contains.</summary>
/// <param name="Tag">Image reference to create.</param>
/// <param name="Suite">Debian suite.</param>
/// <param name="Mirror">Debian mirror debootstrap downloads from; not part of the hash (any mirror gives the same suite).</param>
/// <param name="Packages">Packages installed on top of minbase.</param>
/// <param name="Timeout">Upper bound for debootstrap and the import.</param>
public sealed record BaseImageRecipe(string Tag, string Suite, string Mirror, IReadOnlyList<string> Packages, TimeSpan Timeout)
{
    public const string DefaultTag = "cirunner/base:bookworm";

    /// <summary>
    /// Debian 12 minbase with Puppet 7 and systemd, the base of every release image. systemd, systemd-sysv (the
    /// <c>/sbin/init</c> link) and dbus let a job container boot as a node does (<c>Releases[].Init</c>), so Puppet's
    /// <c>service</c> resources start services for real; containers that do not boot it never run it.
    /// </summary>
    public static BaseImageRecipe Default { get; } = new(DefaultTag, "bookworm", "http://deb.debian.org/debian", ["puppet", "systemd", "systemd-sysv", "dbus"], TimeSpan.FromMinutes(20));

    /// <summary>The base image of a Debian suite (<c>cirunner/base:&lt;suite&gt;</c>) with the same packages.</summary>
    public static BaseImageRecipe ForSuite(string suite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(suite);
        return Default with { Suite = suite, Tag = $"cirunner/base:{suite}" };
    }

    /// <summary>Bump when the way the rootfs is made changes, so existing images are rebuilt.</summary>
    internal const int BuilderVersion = 1;

    /// <summary>The value of the <see cref="ContainerLabels.RecipeHash"/> label.</summary>
    public string Hash()
    {
        string text = $"debootstrap v{BuilderVersion}\nvariant=minbase\nsuite={Suite}\ninclude={string.Join(',', Packages.Order(StringComparer.Ordinal))}\n";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}

/// <summary>
/// Builds the base image without pulling anything: <c>debootstrap --variant=minbase</c> into a temporary folder,
/// then the folder is streamed as a tar into the engine's image import. For machines that cannot reach a
/// registry. Needs root and <c>debootstrap</c> on the machine running CiRunner (the engine may be remote).
/// </summary>
public sealed partial class BaseImageBuilder
{
    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BaseImageBuilder> _logger;

    public BaseImageBuilder(IDockerClient docker, TimeProvider timeProvider, ILogger<BaseImageBuilder> logger)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Builds the image unless one with the tag and the recipe's hash exists (or <paramref name="force"/>).</summary>
    public async Task<ImageBuildOutcome> BuildAsync(BaseImageRecipe recipe, bool force, IProgress<string>? output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        long started = _timeProvider.GetTimestamp();
        string hash = recipe.Hash();
        (string? existingId, string? existingHash) = await ImageBuilder.InspectAsync(_docker, recipe.Tag, cancellationToken);
        if (!force && existingId is not null && string.Equals(existingHash, hash, StringComparison.Ordinal))
        {
            LogUpToDate(_logger, recipe.Tag, hash);
            return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.UpToDate, existingId, hash, null, [], _timeProvider.GetElapsedTime(started));
        }

        if (!OperatingSystem.IsLinux())
        {
            return Failed(recipe, hash, started, "the offline base image is built with debootstrap, which needs Linux", []);
        }

        using var timeout = new CancellationTokenSource(recipe.Timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var log = new BuildOutput(output);
        DirectoryInfo rootfs = Directory.CreateTempSubdirectory("cirunner-rootfs-");
        LogBuilding(_logger, recipe.Tag, rootfs.FullName, hash);
        try
        {
            string[] arguments = ["--variant=minbase", $"--include={string.Join(',', recipe.Packages)}", recipe.Suite, rootfs.FullName, recipe.Mirror];
            int exitCode = await RunProcessAsync("debootstrap", arguments, log, linked.Token);
            if (exitCode != 0)
            {
                return Failed(recipe, hash, started, $"debootstrap exited {exitCode} (it needs root, the debootstrap package and the mirror {recipe.Mirror})", log.Tail());
            }

            await UnmountBelowAsync(rootfs.FullName, log, linked.Token);
            string? importError = await ImportAsync(recipe, hash, rootfs.FullName, log, linked.Token);
            if (importError is not null)
            {
                return Failed(recipe, hash, started, importError, log.Tail());
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Failed(recipe, hash, started, $"building the base image took longer than {recipe.Timeout}", log.Tail());
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return Failed(recipe, hash, started, $"cannot run debootstrap: {ex.Message} (install the debootstrap package)", log.Tail());
        }
        finally
        {
            await DeleteRootfsAsync(rootfs.FullName);
        }

        (string? imageId, string? builtHash) = await ImageBuilder.InspectAsync(_docker, recipe.Tag, cancellationToken);
        if (imageId is null || !string.Equals(builtHash, hash, StringComparison.Ordinal))
        {
            return Failed(recipe, hash, started, $"the import reported no error but image '{recipe.Tag}' with recipe hash {hash} does not exist afterwards", log.Tail());
        }

        TimeSpan duration = _timeProvider.GetElapsedTime(started);
        LogBuilt(_logger, recipe.Tag, imageId, duration.TotalSeconds);
        return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.Built, imageId, hash, null, log.Tail(), duration);
    }

    private ImageBuildOutcome Failed(BaseImageRecipe recipe, string hash, long started, string error, IReadOnlyList<string> tail)
    {
        LogBuildFailed(_logger, recipe.Tag, error);
        return new ImageBuildOutcome(recipe.Tag, ImageBuildStatus.Failed, null, hash, error, tail, _timeProvider.GetElapsedTime(started));
    }

    /// <summary>Streams the rootfs as a tar into the import API: no temporary tarball on disk.</summary>
    private async Task<string?> ImportAsync(BaseImageRecipe recipe, string hash, string rootfs, BuildOutput log, CancellationToken cancellationToken)
    {
        int colon = recipe.Tag.LastIndexOf(':');
        bool hasTag = colon > recipe.Tag.LastIndexOf('/');
        var parameters = new ImagesCreateParameters
        {
            FromSrc = "-",
            Repo = hasTag ? recipe.Tag[..colon] : recipe.Tag,
            Tag = hasTag ? recipe.Tag[(colon + 1)..] : "latest",
            Changes =
            [
                $"LABEL {ContainerLabels.RecipeHash}={hash}",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                "CMD [\"/bin/bash\"]",
            ],
        };

        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 * 1024 * 1024, resumeWriterThreshold: 2 * 1024 * 1024));
        Task producer = Task.Run(
            async () =>
            {
                Stream writer = pipe.Writer.AsStream();
                try
                {
                    await TarFile.CreateFromDirectoryAsync(rootfs, writer, includeBaseDirectory: false, cancellationToken);
                    await pipe.Writer.CompleteAsync();
                }
                catch (Exception ex)
                {
                    // Completing with the exception makes the import's read fail too, instead of importing half a rootfs.
                    await pipe.Writer.CompleteAsync(ex);
                    throw;
                }
            },
            cancellationToken);

        string? error = null;
        var progress = new SynchronousProgress<JSONMessage>(message =>
        {
            if (!string.IsNullOrEmpty(message.Status))
            {
                log.Add(message.Status);
            }

            if (!string.IsNullOrEmpty(message.Error?.Message))
            {
                error = message.Error.Message;
                log.Add(error);
            }
        });

        try
        {
            await using Stream reader = pipe.Reader.AsStream();
            await _docker.Images.CreateImageAsync(parameters, reader, null, progress, cancellationToken);
        }
        catch (DockerApiException ex)
        {
            error = $"the engine refused the import: {ex.StatusCode} {ex.ResponseBody?.Trim()}";
        }

        try
        {
            await producer;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error ??= $"writing the rootfs tar failed: {ex.Message}";
        }

        return error;
    }

    private static async Task<int> RunProcessAsync(string fileName, IEnumerable<string> arguments, BuildOutput log, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Add(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Add(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return process.ExitCode;
    }

    /// <summary>
    /// debootstrap mounts /proc and /sys inside the target while it installs and may leave them mounted when it
    /// fails; a recursive delete must never walk into them.
    /// </summary>
    private static async Task UnmountBelowAsync(string rootfs, BuildOutput log, CancellationToken cancellationToken)
    {
        foreach (string mountPoint in MountsBelow(rootfs).OrderByDescending(m => m.Length))
        {
            log.Add($"unmounting {mountPoint}");
            await RunProcessAsync("umount", ["-l", mountPoint], log, cancellationToken);
        }
    }

    private static List<string> MountsBelow(string rootfs)
    {
        string prefix = rootfs.TrimEnd('/') + "/";
        if (!File.Exists("/proc/self/mountinfo"))
        {
            return [];
        }

        // mountinfo field 5 is the mount point, with spaces escaped as \040.
        return File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4)
            .Select(fields => fields[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(mountPoint => mountPoint.StartsWith(prefix, StringComparison.Ordinal))
            .ToList();
    }

    private async Task DeleteRootfsAsync(string rootfs)
    {
        try
        {
            await UnmountBelowAsync(rootfs, new BuildOutput(null), CancellationToken.None);
            if (MountsBelow(rootfs).Count > 0)
            {
                LogRootfsKept(_logger, rootfs);
                return;
            }

            Directory.Delete(rootfs, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            LogRootfsDeleteFailed(_logger, rootfs, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Base image {Tag} is up to date (recipe {RecipeHash})")]
    private static partial void LogUpToDate(ILogger logger, string tag, string recipeHash);

    [LoggerMessage(Level = LogLevel.Information, Message = "Building base image {Tag} with debootstrap in {Rootfs} (recipe {RecipeHash})")]
    private static partial void LogBuilding(ILogger logger, string tag, string rootfs, string recipeHash);

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported base image {Tag} ({ImageId}) in {Seconds:F1} s")]
    private static partial void LogBuilt(ILogger logger, string tag, string imageId, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Building base image {Tag} failed: {Error}")]
    private static partial void LogBuildFailed(ILogger logger, string tag, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Left {Rootfs} in place: something is still mounted below it")]
    private static partial void LogRootfsKept(ILogger logger, string rootfs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Rootfs}: {Error}")]
    private static partial void LogRootfsDeleteFailed(ILogger logger, string rootfs, string error);
}
