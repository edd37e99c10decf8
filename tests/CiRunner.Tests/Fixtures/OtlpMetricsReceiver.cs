using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// Debian 13's VictoriaMetrics as an OTLP metrics receiver (<c>/opentelemetry/v1/metrics</c>), on a free loopback
/// port with a temp storage folder and nothing to scrape: every sample it holds was pushed over OTLP. It names the
/// series as the scraped <c>/metrics</c> does (<c>-opentelemetry.usePrometheusNaming</c>; the resource's attributes
/// become labels such as <c>service_instance_id</c>, where Prometheus makes <c>job</c> and <c>instance</c>) and
/// answers Prometheus' query API. deploy/setup-test-tools.sh extracts the binary from the Debian 13 package; Debian has no
/// Prometheus with an OTLP receiver (12's 2.42 predates it, 13's 2.53 is built without it).
/// </summary>
public sealed class OtlpMetricsReceiver : IAsyncDisposable
{
    public const string Binary = "/opt/cirunner-test/victoria-metrics/victoria-metrics";

    private readonly Process _process;
    private readonly TempDirectory _folder;
    private readonly StringBuilder _errors = new();
    private readonly HttpClient _client;

    private OtlpMetricsReceiver(Process process, TempDirectory folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
        _client = new HttpClient { Timeout = TimeSpan.FromSeconds(5), BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public int Port { get; }

    /// <summary>What an operator sets <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> to: the exporter appends <c>/v1/metrics</c>.</summary>
    public Uri OtlpEndpoint => new($"http://127.0.0.1:{Port}/opentelemetry");

    /// <summary>The error and warning lines it logged (a rejected OTLP write is one).</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public static OtlpMetricsReceiver Start()
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: run deploy/setup-test-tools.sh as root (it extracts it from Debian 13's victoria-metrics package).");
        }

        var folder = new TempDirectory();
        int port = FreePort.Next();
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            $"-storageDataPath={folder.Combine("data")}",
            $"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=1d",
            "-opentelemetry.usePrometheusNaming",
            // By default a sample becomes visible to queries 30 s after its timestamp; the test reads at once.
            "-search.latencyOffset=0s",
            // An empty answer cached before the first push would hide it.
            "-search.disableCache",
        })
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{Binary} did not start");
        var receiver = new OtlpMetricsReceiver(process, folder, port);
        process.ErrorDataReceived += (_, e) => receiver.Keep(e.Data);
        process.OutputDataReceived += (_, e) => receiver.Keep(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return receiver;
    }

    /// <summary>The series an instant query (PromQL) returns, each as its labels and its value; none while it still starts.</summary>
    public async Task<IReadOnlyList<(Dictionary<string, string> Labels, string Value)>> QueryAsync(string query)
    {
        try
        {
            using JsonDocument answer = JsonDocument.Parse(await _client.GetStringAsync(new Uri("/api/v1/query?query=" + Uri.EscapeDataString(query), UriKind.Relative)));
            return answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
                .Select(r => (
                    r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
                    r.GetProperty("value")[1].GetString() ?? ""))
                .ToList();
        }
        catch (HttpRequestException)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"victoria-metrics exited with {_process.ExitCode}:\n{Errors}");
            }

            return [];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _folder.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null && (line.Contains("\terror\t", StringComparison.Ordinal) || line.Contains("\twarn\t", StringComparison.Ordinal)
            || line.Contains("\tpanic\t", StringComparison.Ordinal) || line.Contains("\tfatal\t", StringComparison.Ordinal)))
        {
            lock (_errors)
            {
                _errors.AppendLine(line);
            }
        }
    }
}
