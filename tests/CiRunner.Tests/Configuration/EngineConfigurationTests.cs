using System.Text.Json.Nodes;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>A client certificate directory made once for the class (openssl takes a moment per key).</summary>
public sealed class ClientCertificates : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new();

    /// <summary>The directory with <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c>.</summary>
    public string Client { get; private set; } = "";

    public async Task InitializeAsync() => Client = await TestCertificates.MakeAsync(_directory);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _directory.Dispose();

    /// <summary>Copies the client files to <paramref name="relativePath"/> in <paramref name="folder"/>.</summary>
    public void CopyTo(ConfigFolder folder, string relativePath)
    {
        foreach (string file in DockerTlsDirectory.Files)
        {
            folder.Write(Path.Combine(relativePath, file), File.ReadAllText(Path.Combine(Client, file)));
        }
    }
}

/// <summary><c>Docker:Engines</c>: the pool is read entry by entry, checked across entries and against <c>Releases</c>.</summary>
public sealed class EngineConfigurationTests : IClassFixture<ClientCertificates>
{
    private const string RackA = "tcp://rack1-a.example.org:2376";
    private const string RackB = "tcp://rack1-b.example.org:2376";

    private static readonly Dictionary<string, (Action<ConfigFolder> Break, string Error)> _cases = new()
    {
        ["name missing"] = (f => Entry(f, 1).Remove("Name"),
            "Docker:Engines:1:Name: missing; expected a short name for the engine: letters, digits, '.', '_' or '-', at most 63 characters, like rack1-a"),
        ["name with a space"] = (f => f.Set("Docker:Engines:1:Name", "rack 1"),
            "Docker:Engines:1:Name: 'rack 1' is not valid; expected a short name for the engine: letters, digits, '.', '_' or '-', at most 63 characters, like rack1-a"),
        ["name used twice"] = (f => f.Set("Docker:Engines:2:Name", "RACK1-a"),
            "Docker:Engines:2:Name: 'RACK1-a' is not valid; expected an engine name not used before in Docker:Engines (already used by Docker:Engines:0)"),
        ["endpoint missing"] = (f => Entry(f, 1).Remove("Endpoint"),
            "Docker:Engines:1:Endpoint: missing; expected a Docker engine endpoint: unix:///var/run/docker.sock, tcp://host:2376 or npipe://./pipe/docker_engine"),
        ["endpoint not an endpoint"] = (f => f.Set("Docker:Engines:1:Endpoint", "http://rack1-b:2375"),
            "Docker:Engines:1:Endpoint: 'http://rack1-b:2375' is not valid; expected a Docker engine endpoint: unix:///var/run/docker.sock, tcp://host:2376 or npipe://./pipe/docker_engine"),
        ["endpoint used twice"] = (f => f.Set("Docker:Engines:1:Endpoint", "tcp://RACK1-A.example.org:2376/"),
            "Docker:Engines:1:Endpoint: 'tcp://RACK1-A.example.org:2376/' is not valid; expected an engine not already in Docker:Engines (Docker:Engines:0 has it; two entries on one engine would run twice its capacity there: raise that entry's Capacity instead)"),
        ["TLS with a unix endpoint"] = (f => f.Set("Docker:Engines:2:TlsCertDirectory", "tls"),
            $"Docker:Engines:2:TlsCertDirectory: 'tls' is not valid; expected no value with Docker:Engines:2:Endpoint '{ConfigFolder.NoEngine}': TLS client certificates apply to tcp://host:2376 endpoints only"),
        ["TLS directory without the client files"] = (f => { f.Write("empty/ca.pem", "x"); f.Set("Docker:Engines:1:TlsCertDirectory", "empty"); },
            "Docker:Engines:1:TlsCertDirectory: 'empty' is not valid; expected a directory with ca.pem, cert.pem, key.pem (missing in {root}/empty: cert.pem, key.pem)"),
        ["capacity zero"] = (f => f.Set("Docker:Engines:1:Capacity", 0),
            "Docker:Engines:1:Capacity: '0' is not valid; expected a whole number from 1 to 64"),
        ["key misspelt"] = (f => f.Set("Docker:Engines:1:Capacit", 3),
            "Docker:Engines:1:Capacit: 'Capacit' is not valid; expected one of the keys Name, Endpoint, TlsCertDirectory, Capacity, Releases (keys are not case-sensitive)"),
        ["release unknown"] = (f => f.Set("Docker:Engines:2:Releases", new JsonArray("zed", "yoga")),
            "Docker:Engines:2:Releases:1: 'yoga' is not valid; expected a release configured in Releases: zed, 2023.1, 2024.1, 2024.2 (leave Releases out, or [], for every release)"),
        ["release listed twice"] = (f => f.Set("Docker:Engines:2:Releases", new JsonArray("zed", "zed")),
            "Docker:Engines:2:Releases: 'zed' is not valid; expected each release once"),
        ["releases a string"] = (f => f.Set("Docker:Engines:2:Releases", "zed"),
            "Docker:Engines:2:Releases: 'zed' is not valid; expected a JSON array of release names from Releases, like [\"2024.1\", \"2024.2\"] ([] or no Releases: every release)"),
        ["entry a plain name"] = (f => f.Set("Docker:Engines:1", "rack1-b"),
            "Docker:Engines:1: 'rack1-b' is not valid; expected an object with the keys Name, Endpoint, TlsCertDirectory, Capacity, Releases"),
        ["engines an object"] = (f => f.Set("Docker:Engines", new JsonObject { ["rack1-a"] = new JsonObject { ["Endpoint"] = RackA } }),
            "Docker:Engines:rack1-a: 'rack1-a' is not valid; expected Docker:Engines to be a JSON array ([ ... ]); 'rack1-a' is a name, not an index"),
        ["Docker:Endpoint beside the pool"] = (f => f.Set("Docker:Endpoint", RackA),
            $"Docker:Endpoint: '{RackA}' is not valid; expected no value with Docker:Engines: each engine names its own Endpoint: move it into an entry of Docker:Engines"),
        ["Docker:TlsCertDirectory beside the pool"] = (f => f.Set("Docker:TlsCertDirectory", "tls"),
            "Docker:TlsCertDirectory: 'tls' is not valid; expected no value with Docker:Engines: each engine names its own TlsCertDirectory: move it into the entries whose engines use TLS"),
    };

    private readonly ClientCertificates _certificates;

    public EngineConfigurationTests(ClientCertificates certificates)
    {
        _certificates = certificates;
    }

    public static TheoryData<string> CaseNames => new(_cases.Keys);

    [Fact]
    public void Load_ThreeEnginePool_ReadsEachEngine_AndPointsTheSingleEngineKeysAtTheFirst()
    {
        using ConfigFolder folder = WithPool();

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        DockerOptions docker = result.Settings.Docker;
        string tls = Path.Combine(folder.Root, "tls");
        Assert.Equal(["rack1-a", "rack1-b", "old-releases"], docker.Engines.Select(e => e.Name));
        Assert.Equal([RackA, RackB, ConfigFolder.NoEngine], docker.Engines.Select(e => e.Endpoint));
        Assert.Equal([tls, tls, null], docker.Engines.Select(e => e.TlsCertDirectory));
        Assert.Equal([4, 2, 1], docker.Engines.Select(e => e.Capacity));
        Assert.Equal(["zed", "2023.1"], docker.Engines[2].Releases);
        Assert.Empty(docker.Engines[0].Releases);
        Assert.Equal((RackA, tls), (docker.Endpoint, docker.TlsCertDirectory));
        Assert.Same(docker.Engines, docker.Pool());
        Assert.Equal(2, docker.ParallelJobs);
    }

    [Fact]
    public void Pool_WithoutEngines_IsOneEngineNamedDefault_WithParallelJobsAsItsCapacity()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParallelJobs", 3);

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        EngineOptions engine = Assert.Single(result.Settings.Docker.Pool());
        Assert.Equal((DockerOptions.DefaultEngineName, ConfigFolder.NoEngine, null, 3), (engine.Name, engine.Endpoint, engine.TlsCertDirectory, engine.Capacity));
        Assert.Empty(engine.Releases);
        Assert.True(engine.Takes(["zed", "2024.1"]));
    }

    [Fact]
    public void Load_EmptyEngineList_IsTheSingleEngineOfDockerEndpoint()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:Engines", new JsonArray());

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Empty(result.Settings.Docker.Engines);
        Assert.Equal(ConfigFolder.NoEngine, result.Settings.Docker.Endpoint);
        Assert.Equal(DockerOptions.DefaultEngineName, Assert.Single(result.Settings.Docker.Pool()).Name);
    }

    [Fact]
    public void Load_PoolWithParallelJobs_KeepsItForTheForegroundRun()
    {
        using ConfigFolder folder = WithPool();
        folder.Set("Docker:ParallelJobs", 5);

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(5, result.Settings.Docker.ParallelJobs);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Load_OneThingWrongInThePool_GivesExactlyItsOneLineErrorAtItsKey(string name)
    {
        // Given a valid pool with one thing broken
        (Action<ConfigFolder> breakIt, string expected) = _cases[name];
        using ConfigFolder folder = WithPool();
        breakIt(folder);

        // When it is loaded
        ConfigurationLoadResult result = folder.Load();

        // Then exactly that error is reported, at its key
        Assert.Equal(["appsettings.json: " + expected.Replace("{root}", folder.Root, StringComparison.Ordinal)], result.Errors.Select(e => e.Format(result.BaseDirectory)));
    }

    [Fact]
    public void Load_ReleasesBroken_DoesNotAlsoCallTheEnginesReleasesUnknown()
    {
        using ConfigFolder folder = WithPool();
        folder.Set("Releases:0:Name", "Zed!");

        ConfigurationLoadResult result = folder.Load();

        Assert.Equal("Releases:0:Name", Assert.Single(result.Errors).Location);
    }

    [Fact]
    public void WriteSummary_Pool_PrintsOneRowPerEngine()
    {
        using ConfigFolder folder = WithPool();
        ConfigurationLoadResult result = folder.Load();
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        var summary = new StringWriter();

        ConfigurationReport.WriteSummary(summary, result.Settings, _ => null);

        string[] lines = summary.ToString().Split(Environment.NewLine);
        int table = Array.IndexOf(lines, "Docker engines (3):");
        Assert.Equal(
            [
                "  rack1-a       tcp://rack1-a.example.org:2376                  TLS: yes  capacity 4  releases: all",
                "  rack1-b       tcp://rack1-b.example.org:2376                  TLS: yes  capacity 2  releases: all",
                "  old-releases  unix:///nonexistent/cirunner-tests/docker.sock  TLS: no   capacity 1  releases: zed, 2023.1",
                "",
            ],
            lines[(table + 1)..(table + 5)]);
        Assert.Contains("  docker      3 engines (below), cirunner run 2 parallel jobs; per job 2048 MiB", summary.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteSummary_SingleEngine_PrintsItAsTheDefaultEngine()
    {
        using var folder = new ConfigFolder();
        CiRunnerSettings settings = folder.Load().Settings!;
        var summary = new StringWriter();

        ConfigurationReport.WriteSummary(summary, settings, _ => null);

        Assert.Contains(
            $"Docker engines (1):{Environment.NewLine}  default  {ConfigFolder.NoEngine}  TLS: no  capacity 2  releases: all{Environment.NewLine}",
            summary.ToString(),
            StringComparison.Ordinal);
    }

    [Fact]
    public void CliReadDocker_Pool_UsesTheFirstEnginesEndpointAndCertificates()
    {
        using ConfigFolder folder = WithPool();
        folder.Save();

        DockerOptions docker = CliConfiguration.ReadDocker(folder.ConfigFile);

        Assert.Equal((RackA, Path.Combine(folder.Root, "tls")), (docker.Endpoint, docker.TlsCertDirectory));
    }

    /// <summary>
    /// A valid pool: two TLS engines (certificates in <c>tls</c>) and a local one for the two oldest releases, with
    /// <c>Docker:Endpoint</c> left out as a pool needs.
    /// </summary>
    private ConfigFolder WithPool()
    {
        var folder = new ConfigFolder();
        _certificates.CopyTo(folder, "tls");
        SetPool(folder, "tls");
        return folder;
    }

    /// <summary>The pool of <see cref="WithPool"/>; without <paramref name="tls"/>, the tcp engines have no TLS.</summary>
    internal static void SetPool(ConfigFolder folder, string? tls)
    {
        folder.Set("Docker:Endpoint", null);
        folder.Set("Docker:Engines", new JsonArray(
            new JsonObject { ["Name"] = "rack1-a", ["Endpoint"] = RackA, ["Capacity"] = 4 },
            new JsonObject { ["Name"] = "rack1-b", ["Endpoint"] = RackB },
            new JsonObject { ["Name"] = "old-releases", ["Endpoint"] = ConfigFolder.NoEngine, ["Capacity"] = 1, ["Releases"] = new JsonArray("zed", "2023.1") }));
        if (tls is not null)
        {
            folder.Set("Docker:Engines:0:TlsCertDirectory", tls);
            folder.Set("Docker:Engines:1:TlsCertDirectory", tls);
        }
    }

    private static JsonObject Entry(ConfigFolder folder, int index) => folder.Section($"Docker:Engines:{index}").AsObject();
}
