using System.Text.Json.Nodes;
using CiRunner.Configuration;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A small, valid configuration in a temp folder of its own: appsettings.json, one Puppetfile per release and two
/// scenarios. Tests break one thing (edit <see cref="Configuration"/>, or overwrite a file) and load it.
/// </summary>
/// <remarks>
/// Releases: zed and 2023.1 (unmaintained branches), 2024.1 (stable), 2024.2 (development, master).
/// Modules: keystone tracks master, stable/*, unmaintained/*; openstacklib only master and stable/*.
/// Scenarios: basic (keystone, openstacklib, stdlib; all releases), lib-only (openstacklib; 2024.1 and 2024.2).
/// Docker:Endpoint is <see cref="NoEngine"/>, so a test that reaches the engine without saying so fails on any machine;
/// a test that needs the engine sets its endpoint (<see cref="DockerEngineFixture.Endpoint"/>) and is in category Docker.
/// </remarks>
public sealed class ConfigFolder : IDisposable
{
    /// <summary>A socket path where no engine ever listens.</summary>
    public const string NoEngine = "unix:///nonexistent/cirunner-tests/docker.sock";

    public const string Puppetfile = """
        # Module set for tests
        forge 'https://forgeapi.puppet.com'

        mod 'keystone',
          :git => 'https://opendev.org/openstack/puppet-keystone',
          :ref => 'master'

        mod 'openstacklib',
          :git => 'https://opendev.org/openstack/puppet-openstacklib',
          :ref => 'master'

        mod 'puppetlabs-stdlib',
          :git => 'https://github.com/puppetlabs/puppetlabs-stdlib',
          :ref => 'v9.4.1'

        """;

    public const string BasicScenario = """
        name: basic
        description: keystone on every release
        manifest: basic.pp
        modules: [keystone, openstacklib, stdlib]

        """;

    public const string LibOnlyScenario = """
        name: lib-only
        manifest: basic.pp
        modules: [openstacklib]
        releases: [2024.1, 2024.2]
        upgrade: false
        steps:
          - apply
          - type: command
            name: conf present
            command: [test, -f, /etc/x.conf]

        """;

    public ConfigFolder()
    {
        Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cirunner-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Configuration = new TestConfiguration()
            .Set("Service:DataDirectory", "data")
            .Set("Service:ScenariosDirectory", "scenarios")
            .AddModule("keystone", "https://opendev.org/openstack/puppet-keystone", "master", "stable/*", "unmaintained/*")
            .AddModule("openstacklib", "https://opendev.org/openstack/puppet-openstacklib", "master", "stable/*")
            .AddRelease("zed", "cirunner/release:zed", "unmaintained/zed", "zed-eol")
            .AddRelease("2023.1", "cirunner/release:2023.1", "unmaintained/2023.1", "2023.1-eol")
            .AddRelease("2024.1", "cirunner/release:2024.1", "stable/2024.1")
            .AddRelease("2024.2", "cirunner/release:2024.2", "master")
            .Set("Docker:Endpoint", NoEngine)
            .Set("Docker:ParallelJobs", 2)
            .Set("Schedule:PollInterval", "00:05:00")
            .Set("Schedule:NightlyCron", "0 0 2 * * ?")
            .Set("Http:Listen", "http://127.0.0.1:8080")
            .Set("Http:ApiTokenVariable", "CIRUNNER_API_TOKEN")
            .Set("Logging:LogLevel:Default", "Information");

        foreach (string release in new[] { "zed", "2023.1", "2024.1", "2024.2" })
        {
            Write($"scenarios/puppetfiles/{release}.Puppetfile", Puppetfile);
        }

        Write("scenarios/basic.yaml", BasicScenario);
        Write("scenarios/lib-only.yaml", LibOnlyScenario);
        Write("scenarios/basic.pp", "notify { 'basic': }\n");
    }

    public string Root { get; }

    public string ConfigFile => System.IO.Path.Combine(Root, "appsettings.json");

    /// <summary>The appsettings.json content; written by <see cref="Save"/> (and by <see cref="Load"/>).</summary>
    public TestConfiguration Configuration { get; }

    public JsonNode Section(string path) => Configuration.Get(path);

    /// <summary>Sets (or with null, removes) a key such as <c>Docker:ParallelJobs</c> or <c>Releases:2:Image</c>.</summary>
    public void Set(string path, object? value) => Configuration.Set(path, value);

    public string Write(string relativePath, string content)
    {
        string path = System.IO.Path.Combine(Root, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    public void Save() => Configuration.WriteTo(ConfigFile);

    public ConfigurationLoadResult Load()
    {
        Save();
        return ConfigurationLoader.Load(ConfigFile);
    }

    /// <summary>
    /// The configuration of a page or API test's service: an instance id of its own, both modules on
    /// <paramref name="remote"/> (given a first commit), loopback <paramref name="port"/>; then
    /// <paramref name="adjust"/>, and loading, which must succeed.
    /// </summary>
    public CiRunnerSettings LoadLocalSite(GitRemote remote, int port, Action<ConfigFolder>? adjust = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        remote.Commit("master");
        Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());
        Set("Modules:0:Url", remote.Path);
        Set("Modules:1:Url", remote.Path);
        Set("Http:Listen", $"http://127.0.0.1:{port}");
        adjust?.Invoke(this);
        ConfigurationLoadResult loaded = Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        return loaded.Settings!;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test over.
        }
    }
}
