using System.Diagnostics;

namespace CiRunner.Tests.Faults;

/// <summary>
/// A small tmpfs file system mounted on a temp folder, so a test can fill a disk for real. Needs root (the tests run
/// as root in CI); a refusal to mount fails the test with the reason instead of skipping it. Disposing unmounts it
/// (lazily when something still holds a file open) and removes the folder.
/// </summary>
public sealed class TmpfsMount : IAsyncDisposable
{
    private TmpfsMount(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Free space as the service sees it (statvfs), in MiB.</summary>
    public long FreeMb => new DriveInfo(Path).AvailableFreeSpace / (1024 * 1024);

    public static async Task<TmpfsMount> MountAsync(int sizeMb)
    {
        string path = Directory.CreateTempSubdirectory("cirunner-tmpfs-").FullName;
        (int exitCode, string output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={sizeMb}m,mode=0755", "tmpfs", path);
        if (exitCode != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException(
                $"The disk-full tests mount a {sizeMb} MiB tmpfs on {path} and need root (CAP_SYS_ADMIN); `mount` exited {exitCode}: {output.Trim()}");
        }

        return new TmpfsMount(path);
    }

    /// <summary>Writes a file of zeros until <paramref name="leaveFreeMb"/> MiB are left (tmpfs counts written pages, so nothing is sparse).</summary>
    public string Fill(long leaveFreeMb)
    {
        string filler = System.IO.Path.Combine(Path, $"filler-{Guid.NewGuid():N}");
        long bytes = (FreeMb - leaveFreeMb) * 1024 * 1024;
        byte[] chunk = new byte[1024 * 1024];
        using var stream = new FileStream(filler, FileMode.CreateNew, FileAccess.Write);
        for (long written = 0; written < bytes; written += chunk.Length)
        {
            stream.Write(chunk, 0, (int)Math.Min(chunk.Length, bytes - written));
        }

        return filler;
    }

    public async ValueTask DisposeAsync()
    {
        (int exitCode, _) = await RunAsync("umount", Path);
        if (exitCode != 0)
        {
            // A process of the test still has a file open: detach now, the kernel frees it when the file is closed.
            await RunAsync("umount", "-l", Path);
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Still mounted (lazily detaching): an empty folder in /tmp is harmless.
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
