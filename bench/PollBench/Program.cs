using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using CiRunner.Configuration;
using CiRunner.Execution;
using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: PollBench <appsettings.json> [warm-up rounds]
// Builds the service's polling path on the configuration (mirrors under its data directory, its results database,
// the run launcher and an in-memory queue that no executor drains) and polls every configured module once, as the
// service's first polls do: that creates the mirrors and records the heads. Then untimed warm-up rounds (default
// 10) of polls of every module: the service is long-running, so the JIT's tiered compilation is paid once, not per
// measurement. Prints "ready modules=<n>".
// Then, for each line "poll" on stdin, polls every module once, one after the other in configuration order, with the
// real ModulePoller, and prints
//   poll us=<wall> fetched=<modules that fetched> changes=<head changes> runs=<runs started> failed=<polls failed>
//        metric_mean_us=<mean of cirunner.poll.duration over these polls> flush_us=<the quiet polls' write>
// where flush_us is the time of the one write that the service makes every 10 s for the polls that found nothing
// new (PollStatusStore.FlushQuietPollsAsync), taken after the clock stopped. Exits at the end of stdin.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: PollBench <appsettings.json> [warm-up rounds]");
    return 2;
}

int warmUpRounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
ConfigurationLoadResult loaded = ConfigurationLoader.Load(args[0]);
if (!loaded.Succeeded)
{
    Console.Error.WriteLine(string.Join('\n', loaded.Errors));
    return 2;
}

CiRunnerSettings settings = loaded.Settings!;
ResultsStore store = ResultsStore.Open(settings.DataPaths.DatabaseFile);
await store.Database.EnsureSchemaAsync(CancellationToken.None);
var telemetry = new CiRunnerTelemetry();
using var queue = new JobQueue(telemetry);
using var mirrors = new ModuleMirrors(settings.DataPaths);
var scenarios = new ScenarioCatalog(settings, TimeProvider.System, NullLogger<ScenarioCatalog>.Instance);
var launcher = new RunLauncher(settings, store.Runs, store.Jobs, queue, NullLogger<RunLauncher>.Instance, telemetry, scenarios);
var poller = new ModulePoller(mirrors, store.PollState, store.PollStatus, launcher, TimeProvider.System, NullLogger<ModulePoller>.Instance, telemetry, patchSets: []);

// The poller's own duration metric (cirunner_poll_duration_seconds in Prometheus), read as the service exports it.
double metricSum = 0;
long metricCount = 0;
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Meter.Name == CiRunnerTelemetry.MeterName && instrument.Name == "cirunner.poll.duration")
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
{
    metricSum += seconds;
    metricCount++;
});
listener.Start();

if (await PollAllAsync() is { } failure)
{
    Console.Error.WriteLine($"the first poll failed: {failure.Module}: {failure.Error}");
    return 1;
}

for (int round = 0; round < warmUpRounds; round++)
{
    await PollAllAsync();
}

await store.PollStatus.FlushQuietPollsAsync(CancellationToken.None);
Console.WriteLine($"ready modules={settings.Modules.Count}");

while (Console.ReadLine() is { } command)
{
    if (command.Trim() != "poll")
    {
        Console.Error.WriteLine($"unknown command '{command}'");
        return 2;
    }

    metricSum = 0;
    metricCount = 0;
    int fetched = 0, changes = 0, runs = 0, failed = 0;
    var clock = Stopwatch.StartNew();
    foreach (TrackedModule module in settings.Modules)
    {
        ModulePollOutcome outcome = await poller.PollAsync(module, CancellationToken.None);
        fetched += outcome.Fetched ? 1 : 0;
        changes += outcome.Changes.Count;
        runs += outcome.RunIds.Count;
        failed += outcome.Succeeded ? 0 : 1;
    }

    clock.Stop();
    double metricMeanUs = metricCount == 0 ? 0 : metricSum / metricCount * 1e6;
    var flush = Stopwatch.StartNew();
    await store.PollStatus.FlushQuietPollsAsync(CancellationToken.None);
    flush.Stop();
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"poll us={clock.Elapsed.TotalMicroseconds:F0} fetched={fetched} changes={changes} runs={runs} failed={failed} metric_mean_us={metricMeanUs:F0} flush_us={flush.Elapsed.TotalMicroseconds:F0}"));
}

return 0;

// The first failed poll, or null when every module polled.
async Task<ModulePollOutcome?> PollAllAsync()
{
    ModulePollOutcome? failure = null;
    foreach (TrackedModule module in settings.Modules)
    {
        ModulePollOutcome outcome = await poller.PollAsync(module, CancellationToken.None);
        failure ??= outcome.Succeeded ? null : outcome;
    }

    return failure;
}
