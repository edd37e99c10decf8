using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Execution;

namespace CiRunner.Cli;

/// <summary><c>cirunner images</c>: build the release images (<c>build</c>) and the offline base image they start FROM (<c>base</c>).</summary>
internal static class ImagesCommand
{
    private static readonly Option<string?> Release = new("--release", "-r")
    {
        Description = "Build only this release's image (default: every configured release).",
        CustomParser = CliValues.NonBlank("a configured release, like 2024.1"),
    };

    private static readonly Option<string[]> BuildArgs = new("--build-arg")
    {
        Description = "KEY=VALUE passed to every release recipe (for example OPENSTACK_APT_SOURCES for releases Debian does not ship); repeatable.",
        Arity = ArgumentArity.ZeroOrMore,
        CustomParser = CliValues.KeyValues("--build-arg OPENSTACK_APT_SOURCES=..."),
    };

    private static readonly Option<DirectoryInfo?> Recipes = new("--recipes")
    {
        Description = "Folder with one recipe folder per release (default: Service:ImageRecipesDirectory, deploy/images beside the configuration file).",
        CustomParser = CliValues.ExistingFolder("the folder with one recipe folder per release, like deploy/images"),
    };

    private static readonly Option<bool> Force = new("--force")
    {
        Description = "Build even when an image with the recipe's hash label exists, without the build cache (fresh packages), and its package snapshot again.",
    };

    private static readonly Option<string> Suite = new("--suite")
    {
        Description = "Debian suite of the base image.",
        DefaultValueFactory = _ => BaseImageRecipe.Default.Suite,
        CustomParser = CliValues.SuiteName(),
    };

    private static readonly Option<Uri> Mirror = new("--mirror")
    {
        Description = "Debian mirror debootstrap downloads from.",
        DefaultValueFactory = _ => new Uri(BaseImageRecipe.Default.Mirror),
        CustomParser = CliValues.HttpUrl("http://deb.debian.org/debian"),
    };

    private static readonly Option<string?> Tag = new("--tag")
    {
        Description = "Base image tag (default: cirunner/base:<suite>, the tag release recipes of that Suite are built FROM).",
        CustomParser = CliValues.ImageTag("cirunner/base:bookworm"),
    };

    public static Command Create()
    {
        var images = new Command("images", "Build the release images and the offline base image (debootstrap + Puppet) they start from; prune phase snapshots.");
        images.Subcommands.Add(CreateBuild());
        images.Subcommands.Add(CreateBase());
        images.Subcommands.Add(CreatePrune());
        return images;
    }

    private static Command CreatePrune()
    {
        var prune = new Command(
            "prune",
            "Remove this instance's phase snapshots (images committed after a green deploy or upgrade phase, Snapshots) from every engine of the pool; one a running job uses stays. Cells then run those phases again, once.");
        prune.SetAction(async (parseResult, cancellationToken) =>
        {
            (string configFile, IConfigurationRoot? configuration, int failed) = await ReadConfigurationAsync(parseResult, "it names the instance and its engines");
            if (configuration is null)
            {
                return failed;
            }

            string instance = CliConfiguration.ReadServiceValue(configuration, nameof(ServiceOptions.InstanceId)) ?? new ServiceOptions().InstanceId;
            int exitCode = 0;
            foreach (EngineOptions engine in CliConfiguration.ReadDocker(configFile).Pool())
            {
                using Docker.DotNet.IDockerClient client = DockerClientFactory.Create(engine);
                var snapshots = new PhaseSnapshotImages(client);
                try
                {
                    List<(Docker.DotNet.Models.ImagesListResponse Image, long Size)> found = await snapshots.SizedAsync(instance, cancellationToken);
                    IReadOnlyList<string> removed = await snapshots.RemoveAllAsync(instance, which: null, cancellationToken);
                    long freed = found.Where(s => removed.Contains(s.Image.ID)).Sum(s => s.Size);
                    string kept = found.Count > removed.Count ? $"; {found.Count - removed.Count} in use by a running job stay" : "";
                    await parseResult.InvocationConfiguration.Output.WriteLineAsync(
                        $"engine {engine.Name}: removed {removed.Count} phase snapshot(s) of instance '{instance}', {freed / 1e9:F2} GB{kept}");
                }
                catch (Exception raw) when (EngineTransport.Unwrap(raw) is var e && e is Docker.DotNet.DockerApiException or HttpRequestException or IOException or TimeoutException)
                {
                    await parseResult.InvocationConfiguration.Error.WriteLineAsync(
                        $"engine {engine.Name} ({engine.Endpoint}) did not answer ({e.Message}); its snapshots stay: start the engine, or check Docker:Endpoint, and run `cirunner images prune` again");
                    exitCode = 1;
                }
            }

            return exitCode;
        });
        return prune;
    }

    private static Command CreateBuild()
    {
        var build = new Command("build", "Build release images from Service:ImageRecipesDirectory (<release>/Dockerfile, else the shared openstack/ recipe) FROM cirunner/base:<Suite>, and the package snapshots of releases with PackageSnapshot; what is up to date (same recipe hash, a complete snapshot of the image) is skipped.");
        build.Options.Add(Release);
        build.Options.Add(BuildArgs);
        build.Options.Add(Recipes);
        build.Options.Add(Force);
        build.SetAction(async (parseResult, cancellationToken) =>
        {
            (string configFile, IConfigurationRoot? configuration, int failed) = await ReadConfigurationAsync(parseResult, "it lists the releases and their images");
            if (configuration is null)
            {
                return failed;
            }

            // The Releases section validated as serve validates it (Suite, Init, PackageSnapshot too), without the
            // Puppetfiles and scenarios an image build does not need.
            (IReadOnlyList<ReleaseOptions> releases, IReadOnlyList<ConfigurationError> errors) = ConfigurationLoader.LoadReleases(configuration, configFile);
            if (errors.Count > 0)
            {
                foreach (ConfigurationError error in errors)
                {
                    await parseResult.InvocationConfiguration.Error.WriteLineAsync(error.Format(Path.GetDirectoryName(Path.GetFullPath(configFile))!));
                }

                return 2;
            }

            string? release = parseResult.GetValue(Release);
            if (release is not null && !releases.Any(r => string.Equals(r.Name, release, StringComparison.Ordinal)))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync(
                    $"--release: '{release}' is not configured; configured releases: {string.Join(", ", releases.Select(r => r.Name))}");
                return BadInput.ExitCode;
            }

            DockerOptions docker = CliConfiguration.ReadDocker(configFile);
            Dictionary<string, string> buildArgs = BuildArgsByKey(parseResult.GetValue(BuildArgs) ?? []);
            string recipesDirectory = CliConfiguration.ReadServiceValue(configuration, nameof(ServiceOptions.ImageRecipesDirectory)) ?? new ServiceOptions().ImageRecipesDirectory;
            string recipes = parseResult.GetValue(Recipes)?.FullName
                ?? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(configFile)!, recipesDirectory));
            using ILoggerFactory loggerFactory = CreateLoggerFactory();
            using Docker.DotNet.IDockerClient client = DockerClientFactory.Create(docker);
            var imageBuilder = new ImageBuilder(client, TimeProvider.System, loggerFactory.CreateLogger<ImageBuilder>());
            var baseBuilder = new BaseImageBuilder(client, TimeProvider.System, loggerFactory.CreateLogger<BaseImageBuilder>());
            var snapshots = new DockerPackageSnapshots(client, TimeProvider.System, loggerFactory.CreateLogger<DockerPackageSnapshots>());
            var snapshotBuilder = new PackageSnapshotBuilder(client, snapshots, TimeProvider.System, loggerFactory.CreateLogger<PackageSnapshotBuilder>());
            using var releaseImages = new ReleaseImages(releases, recipes, imageBuilder, baseBuilder, BaseImageRecipe.ForSuite, buildArgs, snapshotBuilder);
            ReleaseImagesBuild results;
            try
            {
                results = await releaseImages.BuildAsync(release, parseResult.GetValue(Force), BuildOutput(parseResult.InvocationConfiguration.Output), cancellationToken);
            }
            catch (ArgumentException ex)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync(ex.Message);
                return 2;
            }

            int exitCode = await ReportAsync(results.Images, parseResult.InvocationConfiguration);
            return await ReportAsync(results.Snapshots, parseResult.InvocationConfiguration) == 0 ? exitCode : 1;
        });
        return build;
    }

    /// <summary>
    /// The --config file read as the verbs read it; on failure the configuration is null, the error line is written
    /// (a missing file says what it is for: <paramref name="purpose"/>) and the exit code is returned.
    /// </summary>
    private static async Task<(string ConfigFile, IConfigurationRoot? Configuration, int ExitCode)> ReadConfigurationAsync(ParseResult parseResult, string purpose)
    {
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);
        if (!File.Exists(configFile))
        {
            await parseResult.InvocationConfiguration.Error.WriteLineAsync($"Configuration file '{configFile}' not found: {purpose} (--config).");
            return (configFile, null, 2);
        }

        try
        {
            return (configFile, CliConfiguration.Build(configFile), 0);
        }
        catch (InvalidDataException exception)
        {
            await parseResult.InvocationConfiguration.Error.WriteLineAsync(CliConfiguration.Unreadable(configFile, exception));
            return (configFile, null, BadInput.ExitCode);
        }
    }

    private static Command CreateBase()
    {
        var command = new Command("base", "Build the offline base image: debootstrap --variant=minbase --include=puppet, imported through the engine's API (needs root and debootstrap).");
        command.Options.Add(Suite);
        command.Options.Add(Mirror);
        command.Options.Add(Tag);
        command.Options.Add(Force);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            string configFile = GlobalOptions.ResolveConfigPath(parseResult);
            DockerOptions docker;
            try
            {
                docker = File.Exists(configFile) ? CliConfiguration.ReadDocker(configFile) : new DockerOptions();
            }
            catch (InvalidDataException exception)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync(CliConfiguration.Unreadable(configFile, exception));
                return BadInput.ExitCode;
            }

            BaseImageRecipe suiteRecipe = BaseImageRecipe.ForSuite(parseResult.GetValue(Suite)!);
            BaseImageRecipe recipe = suiteRecipe with
            {
                Mirror = parseResult.GetValue(Mirror)!.OriginalString,
                Tag = parseResult.GetValue(Tag) ?? suiteRecipe.Tag,
            };
            using ILoggerFactory loggerFactory = CreateLoggerFactory();
            using Docker.DotNet.IDockerClient client = DockerClientFactory.Create(docker);
            var builder = new BaseImageBuilder(client, TimeProvider.System, loggerFactory.CreateLogger<BaseImageBuilder>());
            ImageBuildOutcome result = await builder.BuildAsync(recipe, parseResult.GetValue(Force), BuildOutput(parseResult.InvocationConfiguration.Output), cancellationToken);
            return await ReportAsync([result], parseResult.InvocationConfiguration);
        });
        return command;
    }

    private static async Task<int> ReportAsync(IReadOnlyList<ImageBuildOutcome> results, InvocationConfiguration console)
    {
        foreach (ImageBuildOutcome result in results)
        {
            await console.Output.WriteLineAsync($"{result.Tag}: {result.StatusText} in {result.Duration.TotalSeconds:F1} s (recipe {result.RecipeHash[..Math.Min(12, result.RecipeHash.Length)]}, image {result.ImageId ?? "none"})");
            if (!result.Succeeded)
            {
                await console.Error.WriteLineAsync($"{result.Tag}: {result.Error}");
            }
        }

        return results.All(r => r.Succeeded) ? 0 : 1;
    }

    /// <summary>One line per package snapshot: up to date or built (with how long), its id, packages, size and volume; or why it failed.</summary>
    private static async Task<int> ReportAsync(IReadOnlyList<PackageSnapshotOutcome> results, InvocationConfiguration console)
    {
        foreach (PackageSnapshotOutcome result in results)
        {
            string what = $"package snapshot of {result.Release} ({result.Image})";
            if (result.Snapshot is { } snapshot)
            {
                string status = result.Status == PackageSnapshotStatus.Built ? $"built in {result.Duration.TotalSeconds:F1} s" : "up to date";
                await console.Output.WriteLineAsync(
                    $"{what}: {status}: {snapshot.Info.Id}, {snapshot.Info.PackageCount} packages, {snapshot.SizeBytes / 1e6:F0} MB, volume {snapshot.Info.Volume}");
                foreach (string removed in result.RemovedVolumes)
                {
                    await console.Output.WriteLineAsync($"  removed the replaced snapshot volume {removed}");
                }
            }
            else
            {
                await console.Output.WriteLineAsync($"{what}: failed in {result.Duration.TotalSeconds:F1} s");
                await console.Error.WriteLineAsync($"{what}: {result.Error}");
            }
        }

        return results.All(r => r.Succeeded) ? 0 : 1;
    }

    /// <summary>The <c>--build-arg</c> pairs (their form checked by <see cref="CliValues.KeyValues"/>); a key given twice takes its last value.</summary>
    private static Dictionary<string, string> BuildArgsByKey(string[] values)
    {
        var buildArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values)
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            buildArgs[value[..equals]] = value[(equals + 1)..];
        }

        return buildArgs;
    }

    private static SynchronousProgress<string> BuildOutput(TextWriter output) => new(line => output.WriteLine($"  | {line}"));

    private static ILoggerFactory CreateLoggerFactory() =>
        LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true).SetMinimumLevel(LogLevel.Information));
}
