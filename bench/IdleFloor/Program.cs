// The floor of an idle CiRunner on its own stack (bench/idle.sh runs it beside the service): Kestrel serving /metrics
// (the runtime's and the process's instruments and one poll histogram, as the service exports them), each module's
// refs listed by libgit2 every 5 s and compared in memory, a SQLite file read at each scrape, and the Docker engine
// pinged every 2 s over its socket. No configuration binding, scheduler, store schema, pages, API or job machinery:
// what the service holds beyond this figure is what those cost while nothing runs.
//
// Usage: IdleFloor MODULES_JSON_FILE LISTEN_URL DATABASE_FILE [DOCKER_SOCKET]
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Text.Json;
using LibGit2Sharp;
using Microsoft.Data.Sqlite;
using OpenTelemetry.Metrics;

if (args.Length < 3)
{
    await Console.Error.WriteLineAsync("usage: IdleFloor MODULES_JSON_FILE LISTEN_URL DATABASE_FILE [DOCKER_SOCKET]");
    return 2;
}

string[] urls;
using (JsonDocument modules = JsonDocument.Parse("[" + await File.ReadAllTextAsync(args[0]) + "]"))
{
    urls = [.. modules.RootElement.EnumerateArray().Select(m => m.GetProperty("Url").GetString()!)];
}

string socket = args.Length > 3 ? args[3] : "/var/run/docker.sock";
string database = new SqliteConnectionStringBuilder { DataSource = args[2] }.ToString();
using (var setup = new SqliteConnection(database))
{
    setup.Open();
    using SqliteCommand create = setup.CreateCommand();
    create.CommandText = "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, state TEXT NOT NULL)";
    create.ExecuteNonQuery();
}

using var meter = new Meter("floor");
Histogram<double> pollDuration = meter.CreateHistogram<double>("floor.poll.duration", "s");
meter.CreateObservableGauge("floor.runs", () =>
{
    using var connection = new SqliteConnection(database);
    connection.Open();
    using SqliteCommand count = connection.CreateCommand();
    count.CommandText = "SELECT COUNT(*) FROM runs";
    return (long)count.ExecuteScalar()!;
});

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(args[1]);
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddMeter("floor")
    .AddRuntimeInstrumentation()
    .AddProcessInstrumentation()
    .AddView(instrument => instrument.Meter.Name == "floor" ? null : new MetricStreamConfiguration { CardinalityLimit = 200 })
    .AddPrometheusExporter());
await using WebApplication app = builder.Build();
app.UseOpenTelemetryPrometheusScrapingEndpoint("/metrics");

using var stopping = new CancellationTokenSource();
app.Lifetime.ApplicationStopping.Register(stopping.Cancel);
List<Task> loops = [.. urls.Select((url, index) => PollAsync(url, TimeSpan.FromMilliseconds(100 * index), stopping.Token)), PingAsync(socket, stopping.Token)];
await app.RunAsync();
await Task.WhenAll(loops);
return 0;

// A module's refs every 5 s; a changed set is only kept (the service would queue runs).
async Task PollAsync(string url, TimeSpan offset, CancellationToken cancellationToken)
{
    try
    {
        await Task.Delay(offset, cancellationToken);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        Dictionary<string, string> heads = [];
        do
        {
            long started = Stopwatch.GetTimestamp();
            Dictionary<string, string> now = Repository.ListRemoteReferences(url).ToDictionary(r => r.CanonicalName, r => r.TargetIdentifier, StringComparer.Ordinal);
            if (now.Count != heads.Count || now.Any(head => !heads.TryGetValue(head.Key, out string? seen) || seen != head.Value))
            {
                heads = now;
            }

            pollDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }
    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
    {
    }
}

// The engine's ping every 2 s on a connection of its own, as the service's EngineProbe asks; no engine is no error here.
async Task PingAsync(string path, CancellationToken cancellationToken)
{
    using var handler = new SocketsHttpHandler
    {
        UseProxy = false,
        ConnectCallback = async (_, token) =>
        {
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await unix.ConnectAsync(new UnixDomainSocketEndPoint(path), token);
                return new NetworkStream(unix, ownsSocket: true);
            }
            catch
            {
                unix.Dispose();
                throw;
            }
        },
    };
    using var client = new HttpClient(handler) { BaseAddress = new Uri("http://docker") };
    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
    try
    {
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/_ping", UriKind.Relative));
            request.Headers.ConnectionClose = true;
            try
            {
                using HttpResponseMessage answer = await client.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException)
            {
            }
        }
    }
    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
    {
    }
}
