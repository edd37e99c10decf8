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
    // validate stays quick and usable offline: an engine that does not answer within this is a note, not a wait.
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);

    // A package snapshot is checked by a container start (about half a second each).
    private static readonly TimeSpan InventoryTimeout = TimeSpan.FromMinutes(1);

    public static Command Create()
    {
        var command = new Command("validate", "Check the configuration, Puppetfiles and scenarios; print a summary or every error, and which release images and package snapshots the Docker engine has.");
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>
    /// Exit 0 with a summary on standard output, or 1 with every error on standard error, one per line. What the engine
    /// lacks (a release image, a package snapshot) is reported with the command that builds it, and does not change the
    /// exit code; neither does an engine that does not answer.
    /// </summary>
    private static async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);

        ConfigurationLoadResult result = ConfigurationLoader.Load(configFile);
        if (!result.Succeeded)
        {
            ConfigurationReport.WriteErrors(error, result);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.ConfigFile}: not valid, {result.Errors.Count} {(result.Errors.Count == 1 ? "error" : "errors")} (listed on standard error)"));
            return 1;
        }

        ConfigurationReport.WriteSummary(output, result.Settings);
        await WriteEngineInventoryAsync(output, result.Settings, cancellationToken);
        return 0;
    }

    private static async Task WriteEngineInventoryAsync(TextWriter output, CiRunnerSettings settings, CancellationToken cancellationToken)
    {
        string endpoint = settings.Docker.Endpoint;
        await output.WriteLineAsync();
        IReadOnlyList<ReleaseInventoryEntry> entries;
        try
        {
            using IDockerClient client = DockerClientFactory.Create(settings.Docker);
            using (var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                ping.CancelAfter(PingTimeout);
                await client.System.PingAsync(ping.Token);
            }

            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            reading.CancelAfter(InventoryTimeout);
            var snapshots = new DockerPackageSnapshots(client, TimeProvider.System, NullLogger<DockerPackageSnapshots>.Instance);
            entries = await ReleaseInventory.ReadAsync(client, snapshots, settings.Releases.Select(r => (r.Name, r.Image, r.PackageSnapshot)), reading.Token);
        }
        catch (Exception ex) when (IsEngineTrouble(ex) && !cancellationToken.IsCancellationRequested)
        {
            string reason = ex is OperationCanceledException ? "no answer in time" : ex.Message.ReplaceLineEndings(" ");
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
        ex is HttpRequestException or IOException or System.Net.Sockets.SocketException or DockerApiException or TimeoutException
            or OperationCanceledException or ArgumentException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException;
}
