using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The real <c>cirunner serve</c> as a child process, as users deploy it: the executable <c>dotnet publish</c> makes
/// (<see cref="PublishedService"/>). Its output goes to the test output and is kept for failure messages. Disposing
/// kills it if it still runs, so no test leaves a process behind.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan HealthBound = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly ITestOutputHelper? _testOutput;

    private ServiceProcess(Process process, ITestOutputHelper? testOutput)
    {
        _process = process;
        _testOutput = testOutput;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the service wrote so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>cirunner serve --config</c> on the folder's configuration (saved first), with the API token in its
    /// variable and <paramref name="environment"/> added to the test process's own (variables such as
    /// <c>OTEL_*</c> are process-wide, so they are set on the child, never in the test process).
    /// </summary>
    public static ServiceProcess Start(ServiceFolder folder, ITestOutputHelper? testOutput, IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var start = new ProcessStartInfo(PublishedService.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(folder.ConfigFile)!,
        };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(folder.Save());
        start.Environment[folder.TokenVariable] = folder.Token;
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var service = new ServiceProcess(process, testOutput);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Waits until <c>/healthz</c> answers at all (200 or 503): the host is up and listening.</summary>
    public async Task WaitForHealthAsync(Uri baseUrl)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.TrueAsync("cirunner serve to answer /healthz", async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"cirunner serve exited with {_process.ExitCode} before answering /healthz:\n{Output}");
            }

            try
            {
                using HttpResponseMessage response = await client.GetAsync(new Uri(baseUrl, "healthz"));
                return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, HealthBound, () => Output);
    }

    /// <summary><c>kill -9</c>: the process dies at once, in whatever it was doing.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit(30_000);
    }

    /// <summary>SIGTERM, as systemd stops a service; returns the exit code once it has exited (bounded).</summary>
    public async Task<int> StopAsync(TimeSpan bound)
    {
        using (Process? kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            await kill!.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"cirunner serve did not exit within {bound} of SIGTERM:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        try
        {
            _testOutput?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has ended; its output no longer takes lines.
        }
    }
}
