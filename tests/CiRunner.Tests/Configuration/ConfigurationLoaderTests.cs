using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Configuration;

public sealed class ConfigurationLoaderTests
{
    [Fact]
    public void Load_ValidFolder_GivesSettingsWithAbsolutePathsAndOrderedReleases()
    {
        using var folder = new ConfigFolder();

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        CiRunnerSettings settings = result.Settings;
        Assert.Equal(folder.ConfigFile, settings.ConfigFile);
        Assert.Equal(Path.Combine(folder.Root, "data"), settings.Service.DataDirectory);
        Assert.Equal(Path.Combine(folder.Root, "scenarios"), settings.Service.ScenariosDirectory);
        Assert.Equal(Path.Combine(folder.Root, "data", "cirunner.db"), settings.DataPaths.DatabaseFile);
        Assert.Equal(["zed", "2023.1", "2024.1", "2024.2"], settings.Releases.Select(r => r.Name));
        Assert.Equal([0, 1, 2, 3], settings.Releases.Select(r => r.Order));
        Assert.Equal([false, true, true, false], settings.Releases.Select(r => r.IsSlurp));
        Assert.Equal("2024.2", Assert.Single(settings.Releases, r => r.IsDevelopment).Name);
        Assert.Equal(Path.Combine(folder.Root, "scenarios", "puppetfiles", "zed.Puppetfile"), settings.Releases[0].Puppetfile.Path);
        Assert.Equal(["keystone", "openstacklib", "stdlib"], settings.Releases[0].Puppetfile.Modules.Select(m => m.Name));
        Assert.Equal(["keystone", "openstacklib"], settings.Modules.Select(m => m.Name));
        Assert.Equal(["basic", "lib-only"], settings.Scenarios.Select(s => s.Name));
    }

    [Fact]
    public void Load_SectionsOmitted_UsesTheOptionsDefaults()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker", null);
        folder.Set("Schedule", null);
        folder.Set("Http", null);
        folder.Set("Service", null);

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(new DockerOptions().ParallelJobs, result.Settings.Docker.ParallelJobs);
        Assert.Equal(TimeSpan.FromHours(2), result.Settings.Docker.JobTimeout);
        Assert.Equal("none", result.Settings.Docker.NetworkMode);
        Assert.Equal(TimeSpan.FromMinutes(5), result.Settings.Schedule.PollInterval);
        Assert.Equal("0 0 2 * * ?", result.Settings.Schedule.NightlyCron);
        Assert.Equal("http://127.0.0.1:8080", result.Settings.Http.Listen);
        Assert.Equal("default", result.Settings.Service.InstanceId);
    }

    [Fact]
    public void Load_ValuesInEveryAcceptedForm_AreRead()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:Endpoint", "tcp://docker.example.org:2376");
        folder.Set("Docker:Cpus", "1.5");
        folder.Set("Docker:JobTimeout", "1h30m");
        folder.Set("Schedule:PollInterval", "30s");
        folder.Set("Schedule:NightlyCron", "0 30 1 ? * MON-FRI");
        folder.Set("Schedule:NightlySkipUnchanged", true);
        folder.Set("Http:Listen", "http://*:9090");
        folder.Set("Releases:0:Slurp", true);
        folder.Set("Releases:1:Puppetfile", "puppetfiles/zed.Puppetfile");
        folder.Set("Releases:2:UpgradePrepareCommand", new System.Text.Json.Nodes.JsonArray("/usr/local/bin/switch-repos", "2024.1"));
        folder.Set("Modules:0:Credentials", new System.Text.Json.Nodes.JsonObject { ["UsernameVariable"] = "GIT_USER", ["PasswordVariable"] = "GIT_TOKEN" });
        folder.Set("Modules:1:Url", "repos/openstacklib");
        Directory.CreateDirectory(Path.Combine(folder.Root, "repos", "openstacklib"));

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        CiRunnerSettings settings = result.Settings;
        Assert.Equal(1.5, settings.Docker.Cpus);
        Assert.Equal(TimeSpan.FromMinutes(90), settings.Docker.JobTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Schedule.PollInterval);
        Assert.True(settings.Schedule.NightlySkipUnchanged);
        Assert.True(settings.Releases[0].IsSlurp);
        Assert.EndsWith("zed.Puppetfile", settings.Releases[1].Puppetfile.Path, StringComparison.Ordinal);
        Assert.Equal(["/usr/local/bin/switch-repos", "2024.1"], settings.Releases[2].UpgradePrepareCommand);
        Assert.Equal(new ModuleCredentials("GIT_USER", "GIT_TOKEN"), settings.Modules[0].Credentials);
        Assert.Equal(Path.Combine(folder.Root, "repos", "openstacklib"), settings.Modules[1].Url);
    }

    [Fact]
    public void Load_SlurpSetToFalse_OverridesTheName()
    {
        using var folder = new ConfigFolder();
        folder.Set("Releases:1:Slurp", false);

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.False(result.Settings.Releases[1].IsSlurp);
    }

    [Fact]
    public void Load_ManyThingsBroken_ReportsAllOfThemAtOnce()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParallelJobs", "two");
        folder.Set("Schedule:NightlyCron", "nightly");
        folder.Set("Releases:2:Image", "");
        folder.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'puppetlabs-stdlib', '9.0.0'\n");
        folder.Write("scenarios/broken.yaml", "name: broken\nmanifest: x.pp\nmodules: [keystone]\n");

        ConfigurationLoadResult result = folder.Load();

        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "appsettings.json: Docker:ParallelJobs",
                "appsettings.json: Schedule:NightlyCron",
                "appsettings.json: Releases:2:Image",
                "scenarios/puppetfiles/zed.Puppetfile: line 1",
                "scenarios/broken.yaml: line 2, manifest",
            ],
            result.Errors.Select(e => string.Join(": ", e.Format(result.BaseDirectory).Split(": ").Take(2))));
    }

    [Fact]
    public void Load_EmptyBranchList_IsAnErrorNotTheDefault()
    {
        using var folder = new ConfigFolder();
        folder.Set("Modules:0:Branches", new System.Text.Json.Nodes.JsonArray());

        ConfigurationLoadResult result = folder.Load();

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal(("Modules:0:Branches", "[]"), (error.Location, error.Value));
    }

    [Fact]
    public void Load_MissingFile_IsAnErrorNotAnException()
    {
        ConfigurationLoadResult result = ConfigurationLoader.Load(Path.Combine(Path.GetTempPath(), "cirunner-tests", "no-such", "appsettings.json"));

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal("file", error.Location);
        Assert.Contains("--config", error.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ModulesAndReleasesMissing_SaysWhatIsExpected()
    {
        using var folder = new ConfigFolder();
        folder.Set("Modules", null);
        folder.Set("Releases", new System.Text.Json.Nodes.JsonArray());

        ConfigurationLoadResult result = folder.Load();

        Assert.Contains(result.Errors, e => e.Location == "Modules" && e.Value is null);
        Assert.Contains(result.Errors, e => e.Location == "Releases" && e.Expected.Contains("at least one release", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ConfigurationFromMemory_UsesTheGivenFileForPathsAndErrors()
    {
        using var folder = new ConfigFolder();
        folder.Save();
        IConfigurationRoot configuration = new ConfigurationBuilder()
            .AddJsonFile(folder.ConfigFile)
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Docker:PidsLimit"] = "4" })
            .Build();

        ConfigurationLoadResult result = ConfigurationLoader.Load(configuration, folder.ConfigFile);

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal(new ConfigurationError(folder.ConfigFile, "Docker:PidsLimit", "4", "a whole number of processes, at least 16"), error);
    }

    [Fact]
    public void TryLoad_Broken_WritesEachErrorOnItsOwnLine()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParallelJobs", "two");
        folder.Set("Docker:MemoryMb", 1);
        folder.Save();
        using var errors = new StringWriter();

        bool loaded = ConfigurationLoader.TryLoad(folder.ConfigFile, errors, out CiRunnerSettings? settings);

        Assert.False(loaded);
        Assert.Null(settings);
        Assert.Equal(
            [
                "appsettings.json: Docker:ParallelJobs: 'two' is not valid; expected a whole number from 1 to 64",
                "appsettings.json: Docker:MemoryMb: '1' is not valid; expected a whole number of MiB, at least 64",
            ],
            errors.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AddCiRunnerSettings_RegistersSettingsAndEachOptionsSection()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParallelJobs", 7);
        folder.Save();
        Assert.True(ConfigurationLoader.TryLoad(folder.ConfigFile, TextWriter.Null, out CiRunnerSettings? settings));

        using ServiceProvider provider = new ServiceCollection().AddCiRunnerSettings(settings).BuildServiceProvider();

        Assert.Same(settings, provider.GetRequiredService<CiRunnerSettings>());
        Assert.Equal(7, provider.GetRequiredService<IOptions<DockerOptions>>().Value.ParallelJobs);
        Assert.Same(settings.Service, provider.GetRequiredService<IOptions<ServiceOptions>>().Value);
        Assert.Same(settings.Schedule, provider.GetRequiredService<IOptions<ScheduleOptions>>().Value);
        Assert.Same(settings.Http, provider.GetRequiredService<IOptions<HttpOptions>>().Value);
        Assert.Same(settings.DataPaths, provider.GetRequiredService<DataPaths>());
    }

    [Fact]
    public void ReadApiToken_ComesOnlyFromTheNamedVariable()
    {
        var http = new HttpOptions { ApiTokenVariable = "MY_TOKEN" };

        Assert.Equal("abc", http.ReadApiToken(name => name == "MY_TOKEN" ? "abc" : null));
        Assert.Null(http.ReadApiToken(_ => ""));
    }

    [Fact]
    public void ConfigurationError_RendersOneLine()
    {
        var error = new ConfigurationError("/srv/ci/appsettings.json", "Docker:ParallelJobs", "two", "a whole number from 1 to 64");
        var missing = new ConfigurationError("/srv/ci/scenarios/a.yaml", "line 3, name", null, "a name");

        Assert.Equal("appsettings.json: Docker:ParallelJobs: 'two' is not valid; expected a whole number from 1 to 64", error.Format("/srv/ci"));
        Assert.Equal("/srv/ci/appsettings.json: Docker:ParallelJobs: 'two' is not valid; expected a whole number from 1 to 64", error.ToString());
        Assert.Equal("scenarios/a.yaml: line 3, name: missing; expected a name", missing.Format("/srv/ci"));
        Assert.StartsWith("/srv/ci/scenarios/a.yaml", missing.Format("/srv/other"), StringComparison.Ordinal);
    }
}
