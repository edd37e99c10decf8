using System.Diagnostics;
using System.Globalization;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A Docker daemon of the test's own, in a temp folder (socket, data root, exec root, pid file), that the test may
/// stop, restart or reconfigure; the shared daemon is never touched. The Puppet image is copied into it from the
/// shared engine (<c>docker save</c> streamed into the image load API). Disposing stops it (SIGTERM, then SIGKILL
/// of it and its containerd), unmounts whatever it left mounted under its folder and deletes the folder.
/// </summary>
public sealed class PrivateDockerDaemon : IAsyncDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(45);

    private readonly string[] _extraArguments;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private PrivateDockerDaemon(string root, string[] extraArguments)
    {
        Root = root;
        _extraArguments = extraArguments;
    }

    /// <summary>The daemon's folder; short, because a unix socket path may not exceed 107 bytes.</summary>
    public string Root { get; }

    /// <summary>The daemon's unix socket (TLS tests add a TCP listener through the start arguments).</summary>
    public string Endpoint => $"unix://{Root}/docker.sock";

    /// <summary>A client on the unix socket (no TLS), for the test's own checks.</summary>
    public IDockerClient Client { get; private set; } = null!;

    /// <summary>The daemon's output so far, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts a daemon (extra <paramref name="arguments"/> such as TLS or TCP listeners) and waits until it answers.</summary>
    public static async Task<PrivateDockerDaemon> StartAsync(params string[] arguments)
    {
        string root = Directory.CreateTempSubdirectory("cird-").FullName;
        var daemon = new PrivateDockerDaemon(root, arguments);
        try
        {
            daemon.Client = new DockerClientBuilder().WithEndpoint(new Uri(daemon.Endpoint)).Build();
            await daemon.StartProcessAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Copies <paramref name="image"/> from the shared engine into this daemon.</summary>
    public async Task LoadImageAsync(IDockerClient shared, string image)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using Stream saved = await shared.Images.SaveImageAsync(image, timeout.Token);
        await Client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, saved, new Progress<JSONMessage>(), timeout.Token);
        _ = await Client.Images.InspectImageAsync(image, timeout.Token);
    }

    /// <summary>Stops the daemon the way an operator does (SIGTERM) and waits until it has exited.</summary>
    public async Task StopAsync()
    {
        Process? process = _process;
        if (process is null || process.HasExited)
        {
            return;
        }

        Signal(process.Id, "TERM");
        using var bound = new CancellationTokenSource(StopBound);
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The private dockerd did not stop within {StopBound} of SIGTERM.\n{Log}");
        }
    }

    /// <summary>Freezes the daemon (SIGSTOP): it keeps its sockets but answers nothing, as a hung engine or a cut network does. Its containers run on.</summary>
    public void Freeze() => Signal(_process!.Id, "STOP");

    /// <summary>Lets a frozen daemon go on (SIGCONT).</summary>
    public void Thaw() => Signal(_process!.Id, "CONT");

    /// <summary>Starts the daemon again with the same folders (after <see cref="StopAsync"/>).</summary>
    public Task StartAgainAsync() => StartProcessAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (TimeoutException)
        {
            // Killed below.
        }
        finally
        {
            KillLeftovers();
            Client?.Dispose();
            _process?.Dispose();
            Unmount();
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A busy file under a folder that could not be unmounted: nothing more can be done here.
            }
        }
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo("dockerd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            "--host", Endpoint, "--data-root", Path.Combine(Root, "data"), "--exec-root", Path.Combine(Root, "exec"),
            "--pidfile", Path.Combine(Root, "docker.pid"), "--bridge=none", "--iptables=false", "--ip-masq=false",
        }.Concat(_extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("dockerd did not start (is Debian's docker.io installed?)");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;

        await Eventually.TrueAsync("the private dockerd to answer a ping", async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The private dockerd exited with {process.ExitCode} at start.\n{Log}");
            }

            try
            {
                using var ping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Client.System.PingAsync(ping.Token);
                return true;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or DockerApiException)
            {
                return false;
            }
        }, StartBound, () => Log);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    /// <summary>dockerd starts its own containerd (and shims); if dockerd had to be killed they may still run.</summary>
    private void KillLeftovers()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }

        foreach (string directory in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).OfType<string>())
        {
            if (!int.TryParse(directory, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                string commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                if (commandLine.Contains(Root, StringComparison.Ordinal) && (commandLine.StartsWith("containerd", StringComparison.Ordinal) || commandLine.StartsWith("dockerd", StringComparison.Ordinal)))
                {
                    using Process leftover = Process.GetProcessById(pid);
                    leftover.Kill(entireProcessTree: true);
                    leftover.WaitForExit(10_000);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // The process ended meanwhile.
            }
        }
    }

    /// <summary>Lazily unmounts every mount under the folder, deepest first (overlay layers, shm, the exec root).</summary>
    private void Unmount()
    {
        List<string> mounts;
        try
        {
            mounts = File.ReadAllLines("/proc/self/mountinfo")
                .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
                .Where(point => point.StartsWith(Root + "/", StringComparison.Ordinal))
                .OrderByDescending(point => point.Length)
                .ToList();
        }
        catch (IOException)
        {
            return;
        }

        foreach (string point in mounts)
        {
            using Process? umount = Process.Start(new ProcessStartInfo("umount", ["-l", point]) { UseShellExecute = false, RedirectStandardError = true });
            umount?.WaitForExit(10_000);
        }
    }

    private static void Signal(int pid, string signal)
    {
        using Process? kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
        kill?.WaitForExit(10_000);
    }
}
