using System.CommandLine;
using System.Globalization;
using CiRunner.Configuration;
using CiRunner.Execution;
using Docker.DotNet;
using Microsoft.Extensions.Logging.Abstractions;

namespace CiRunner.Cli;

/// <summary><c>cirunner validate</c>: load configuration, Puppetfiles and scenarios and report every error at once.</summary>
internal static class ValidateCommand
{
    /// <summary>How long validate waits for the engine to answer a ping before it says it could not check.</summary>
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(5);

    // A package snapshot is checked by a container start (about half a second each).
    private static readonly TimeSpan InventoryTimeout = TimeSpan.FromMinutes(1);

    private static readonly Option<bool> NoEngine = new("--no-engine")
    {
        Description = "Check the files only; do not ask the Docker engine anything (whether it boots systemd, which images and snapshots it has).",
    };

    public static Command Create()
    {
        var command = new Command("validate", "Check the configuration, Puppetfiles and scenarios; print a summary or every error. With the Docker engine reachable, also check that it boots systemd in a container when releases or scenarios ask for it.");
        command.Options.Add(NoEngine);
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>Exit 0 with a summary on standard output, or 1 with every error on standard error, one per line.</summary>
    private static async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);

        ConfigurationLoadResult result = ConfigurationLoader.Load(configFile);
        if (!result.Succeeded)
        {
            ConfigurationReport.WriteErrors(error, result);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{result.ConfigFile}: not valid, {result.Errors.Count} {(result.Errors.Count == 1 ? "error" : "errors")} (listed on standard error)"));
            return 1;
        }

        ConfigurationReport.WriteSummary(output, result.Settings);
        if (parseResult.GetValue(NoEngine))
        {
            return 0;
        }

        // What the engine lacks (a release image, a package snapshot) is reported with the command that builds it and
        // leaves the exit code alone; a host that cannot boot systemd for releases that need it does not.
        await WriteEngineInventoryAsync(output, result.Settings, cancellationToken);
        return await CheckSystemdAsync(result.Settings, output, error, cancellationToken) ? 0 : 1;
    }

    /// <summary>
    /// When releases or scenarios boot systemd, boots it once in a throwaway container on each engine that answers: a host
    /// that cannot is told here, not by jobs. False only when a probe ran and systemd did not come up.
    /// </summary>
    private static async Task<bool> CheckSystemdAsync(CiRunnerSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> images = SystemdHostCheck.CandidateImages(settings);
        if (images.Count == 0)
        {
            return true;
        }

        await output.WriteLineAsync();
        IReadOnlyList<EngineOptions> pool = settings.Docker.Pool();
        bool works = true;
        foreach (EngineOptions engine in pool)
        {
            works &= await CheckSystemdAsync(settings, engine, pool.Count == 1 ? null : engine.Name, images, output, error, cancellationToken);
        }

        return works;
    }

    /// <summary>One engine's check; <paramref name="name"/> is its name for the lines written, null for the one engine of <c>Docker:Endpoint</c>.</summary>
    private static async Task<bool> CheckSystemdAsync(
        CiRunnerSettings settings, EngineOptions engine, string? name, IReadOnlyList<string> images, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string on = name is null ? "" : $"engine {name}: ";
        using IDockerClient docker = DockerClientFactory.Create(engine);
        try
        {
            using var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            ping.CancelAfter(EngineTimeout);
            await docker.System.PingAsync(ping.Token);
        }
        catch (Exception raw) when (Execution.EngineTransport.Unwrap(raw) is var ex
            && (ex is HttpRequestException or IOException or System.Net.Sockets.SocketException or DockerApiException
                || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await output.WriteLineAsync($"systemd      {on}not checked: the Docker engine at {engine.Endpoint} does not answer ({ex.Message})");
            return true;
        }

        var probe = new SystemdHostProbe(docker, TimeProvider.System, settings.Service.InstanceId);
        SystemdProbeResult? probed = await probe.ProbeAsync(images, settings.Docker.BootTimeout, cancellationToken);
        if (probed is null)
        {
            await output.WriteLineAsync($"systemd      {on}not checked yet: no image with systemd on the engine ({string.Join(", ", images)}); `cirunner images build` makes them");
            return true;
        }

        if (probed.Works)
        {
            await output.WriteLineAsync($"systemd      {on}ok: {probed.Describe()}");
            return true;
        }

        await error.WriteLineAsync(name is null ? $"Docker:Endpoint: {probed.Describe()}" : $"Docker:Engines ({name}, {engine.Endpoint}): {probed.Describe()}");
        await output.WriteLineAsync($"systemd      {on}FAILED: releases or scenarios with Init systemd cannot run on this engine (listed on standard error)");
        return false;
    }

    /// <summary>What each engine of the pool holds: a release missing on one engine is copied there from another, or built, when a job needs it.</summary>
    private static async Task WriteEngineInventoryAsync(TextWriter output, CiRunnerSettings settings, CancellationToken cancellationToken)
    {
        IReadOnlyList<EngineOptions> pool = settings.Docker.Pool();
        foreach (EngineOptions engine in pool)
        {
            await WriteEngineInventoryAsync(output, settings, engine, pool.Count == 1 ? engine.Endpoint : $"{engine.Name}, {engine.Endpoint}", cancellationToken);
        }
    }

    private static async Task WriteEngineInventoryAsync(TextWriter output, CiRunnerSettings settings, EngineOptions engine, string endpoint, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync();
        IReadOnlyList<ReleaseInventoryEntry> entries;
        try
        {
            using IDockerClient client = DockerClientFactory.Create(engine);
            using (var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                ping.CancelAfter(EngineTimeout);
                await client.System.PingAsync(ping.Token);
            }

            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            reading.CancelAfter(InventoryTimeout);
            var snapshots = new DockerPackageSnapshots(client, TimeProvider.System, NullLogger<DockerPackageSnapshots>.Instance);
            entries = await ReleaseInventory.ReadAsync(client, snapshots, settings.Releases.Select(r => (r.Name, r.Image, r.PackageSnapshot)), reading.Token);
        }
        catch (Exception ex) when (IsEngineTrouble(ex) && !cancellationToken.IsCancellationRequested)
        {
            string reason = ex is OperationCanceledException ? "no answer in time" : Execution.EngineTransport.Unwrap(ex).Message.ReplaceLineEndings(" ");
            await output.WriteLineAsync(
                $"Note: the Docker engine at {endpoint} did not answer ({reason}); release images and package snapshots were not checked (cirunner images build builds them).");
            return;
        }

        await output.WriteLineAsync($"Release images and package snapshots on the Docker engine ({endpoint}):");
        var table = new TextTable("RELEASE", "WHAT", "STATE");
        foreach (ReleaseInventoryEntry entry in entries)
        {
            string build = $"missing: build it with `{ReleaseImages.BuildCommand(entry.Release)}`";
            table.AddRow(entry.Release, $"image {entry.Image}", entry.ImageId is { } imageId ? $"present ({imageId})" : build);
            if (entry.WantsSnapshot)
            {
                string state = entry.Snapshot is { } snapshot
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"present: {snapshot.Info.Id} ({snapshot.Info.PackageCount} packages, {snapshot.SizeBytes / 1e6:F0} MB, volume {snapshot.Info.Volume})")
                    : build;
                table.AddRow(entry.Release, "package snapshot", state);
            }
        }

        await table.WriteAsync(output, indent: "  ", cancellationToken);
    }

    private static bool IsEngineTrouble(Exception ex) =>
        Execution.EngineTransport.Unwrap(ex) is HttpRequestException or IOException or System.Net.Sockets.SocketException or DockerApiException or TimeoutException
            or OperationCanceledException or ArgumentException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException;
}
