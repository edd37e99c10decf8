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
    };

    private static readonly Option<string[]> BuildArgs = new("--build-arg")
    {
        Description = "KEY=VALUE passed to every release recipe (for example OPENSTACK_APT_SOURCES for releases Debian does not ship); repeatable.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static readonly Option<DirectoryInfo?> Recipes = new("--recipes")
    {
        Description = "Folder with one recipe folder per release (default: Service:ImageRecipesDirectory, deploy/images beside the configuration file).",
    };

    private static readonly Option<bool> Force = new("--force")
    {
        Description = "Build even when an image with the recipe's hash label exists.",
    };

    private static readonly Option<string> Suite = new("--suite")
    {
        Description = "Debian suite of the base image.",
        DefaultValueFactory = _ => BaseImageRecipe.Default.Suite,
    };

    private static readonly Option<string> Mirror = new("--mirror")
    {
        Description = "Debian mirror debootstrap downloads from.",
        DefaultValueFactory = _ => BaseImageRecipe.Default.Mirror,
    };

    private static readonly Option<string?> Tag = new("--tag")
    {
        Description = $"Base image tag (default: {BaseImageRecipe.DefaultTag}, or cirunner/base:<suite>).",
    };

    public static Command Create()
    {
        var images = new Command("images", "Build the release images and the offline base image (debootstrap + Puppet) they start from.");
        images.Subcommands.Add(CreateBuild());
        images.Subcommands.Add(CreateBase());
        return images;
    }

    private static Command CreateBuild()
    {
        var build = new Command("build", "Build release images from Service:ImageRecipesDirectory (<release>/Dockerfile, else the shared openstack/ recipe); up-to-date images (same recipe hash) are skipped.");
        build.Options.Add(Release);
        build.Options.Add(BuildArgs);
        build.Options.Add(Recipes);
        build.Options.Add(Force);
        build.SetAction(async (parseResult, cancellationToken) =>
        {
            string configFile = GlobalOptions.ResolveConfigPath(parseResult);
            if (!File.Exists(configFile))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"Configuration file '{configFile}' not found: it lists the releases and their images (--config).");
                return 2;
            }

            IConfigurationRoot configuration = CliConfiguration.Build(configFile);

            // Bound directly for now; the validated settings loader replaces this when it lands.
            List<ReleaseOptions> releases = configuration.GetSection(ReleaseOptions.SectionName).Get<List<ReleaseOptions>>() ?? [];
            DockerOptions docker = CliConfiguration.ReadDocker(configFile);
            if (releases.Count == 0)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"'{configFile}' configures no releases (section {ReleaseOptions.SectionName}).");
                return 2;
            }

            if (!TryParseBuildArgs(parseResult.GetValue(BuildArgs) ?? [], out Dictionary<string, string> buildArgs, out string? bad))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"--build-arg '{bad}' is not KEY=VALUE.");
                return 2;
            }

            string recipesDirectory = CliConfiguration.ReadServiceValue(configuration, nameof(ServiceOptions.ImageRecipesDirectory)) ?? new ServiceOptions().ImageRecipesDirectory;
            string recipes = parseResult.GetValue(Recipes)?.FullName
                ?? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(configFile)!, recipesDirectory));
            string? release = parseResult.GetValue(Release);
            using ILoggerFactory loggerFactory = CreateLoggerFactory();
            using Docker.DotNet.IDockerClient client = DockerClientFactory.Create(docker);
            var imageBuilder = new ImageBuilder(client, TimeProvider.System, loggerFactory.CreateLogger<ImageBuilder>());
            var baseBuilder = new BaseImageBuilder(client, TimeProvider.System, loggerFactory.CreateLogger<BaseImageBuilder>());
            using var releaseImages = new ReleaseImages(releases, recipes, imageBuilder, baseBuilder, BaseImageRecipe.Default, buildArgs);
            IReadOnlyList<ImageBuildOutcome> results;
            try
            {
                results = await releaseImages.BuildAsync(release, parseResult.GetValue(Force), BuildOutput(parseResult.InvocationConfiguration.Output), cancellationToken);
            }
            catch (ArgumentException ex)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync(ex.Message);
                return 2;
            }

            return await ReportAsync(results, parseResult.InvocationConfiguration);
        });
        return build;
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
            DockerOptions docker = File.Exists(configFile)
                ? CliConfiguration.ReadDocker(configFile)
                : new DockerOptions();
            string suite = parseResult.GetValue(Suite)!;
            BaseImageRecipe recipe = BaseImageRecipe.Default with
            {
                Suite = suite,
                Mirror = parseResult.GetValue(Mirror)!,
                Tag = parseResult.GetValue(Tag) ?? $"cirunner/base:{suite}",
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
            string status = result.Status == ImageBuildStatus.UpToDate ? "up to date" : result.Status.ToString().ToLowerInvariant();
            await console.Output.WriteLineAsync($"{result.Tag}: {status} in {result.Duration.TotalSeconds:F1} s (recipe {result.RecipeHash[..Math.Min(12, result.RecipeHash.Length)]}, image {result.ImageId ?? "none"})");
            if (!result.Succeeded)
            {
                await console.Error.WriteLineAsync($"{result.Tag}: {result.Error}");
            }
        }

        return results.All(r => r.Succeeded) ? 0 : 1;
    }

    private static bool TryParseBuildArgs(string[] values, out Dictionary<string, string> buildArgs, out string? bad)
    {
        buildArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values)
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                bad = value;
                return false;
            }

            buildArgs[value[..equals]] = value[(equals + 1)..];
        }

        bad = null;
        return true;
    }

    private static SynchronousProgress<string> BuildOutput(TextWriter output) => new(line => output.WriteLine($"  | {line}"));

    private static ILoggerFactory CreateLoggerFactory() =>
        LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true).SetMinimumLevel(LogLevel.Information));
}
