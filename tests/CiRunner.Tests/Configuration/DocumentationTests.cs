using System.Text.RegularExpressions;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>The examples in docs/configuration.md are read by the same code as real files, so they cannot drift.</summary>
public sealed partial class DocumentationTests
{
    private static readonly string _document = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "configuration.md"));

    [Fact]
    public void PuppetfileExample_Parses()
    {
        string example = Block("ruby");

        PuppetfileParseResult result = PuppetfileParser.Parse(example, "configuration.md");

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(["keystone", "stdlib"], result.Puppetfile.Modules.Select(m => m.Name));
        Assert.Equal("modules", result.Puppetfile.ModuleDir);
    }

    [Fact]
    public void ScenarioExample_Loads()
    {
        using var folder = new ConfigFolder();
        string directory = Path.Combine(folder.Root, "example");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "scenario001.yaml"), Block("yaml"));
        File.WriteAllText(Path.Combine(directory, "scenario001.pp"), "notify { 'x': }\n");
        Directory.CreateDirectory(Path.Combine(directory, "scenario001"));
        File.WriteAllText(Path.Combine(directory, "scenario001", "seed.sh"), "true\n");

        ScenarioLoadResult result = ScenarioLoader.Load(directory, releases: null);

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Scenario scenario = Assert.Single(result.Scenarios);
        Assert.Equal([StepKind.Apply, StepKind.Idempotency, StepKind.Command, StepKind.Apply], scenario.Steps.Select(s => s.Kind));
    }

    [Fact]
    public void EveryOptionsKey_IsDocumented()
    {
        Type[] sections = [typeof(CiRunner.Configuration.ServiceOptions), typeof(CiRunner.Configuration.DockerOptions), typeof(CiRunner.Configuration.ScheduleOptions),
            typeof(CiRunner.Configuration.HttpOptions), typeof(CiRunner.Configuration.RetentionOptions), typeof(CiRunner.Configuration.ModuleOptions), typeof(CiRunner.Configuration.ReleaseOptions),
            typeof(CiRunner.Configuration.MatrixOptions), typeof(CiRunner.Configuration.CellPatternOptions), typeof(CiRunner.Configuration.CompatibilityCellOptions),
            typeof(CiRunner.Configuration.GerritOptions), typeof(CiRunner.Configuration.ReportingOptions), typeof(CiRunner.Configuration.WebhookOptions),
            typeof(CiRunner.Configuration.EngineOptions)];
        foreach (string key in sections.SelectMany(t => t.GetProperties()).Select(p => p.Name))
        {
            Assert.Contains($"`{key}", _document, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void MatrixExample_Loads()
    {
        // The test folder has no 2023.2 and no scenario001; the example's shape is what is checked.
        string example = CodeBlock().Matches(_document).Select(m => m.Groups["body"].Value).First(b => b.StartsWith("\"Matrix\"", StringComparison.Ordinal)).Replace("2023.2", "2023.1", StringComparison.Ordinal).Replace("scenario001", "basic", StringComparison.Ordinal);
        using var folder = new ConfigFolder();
        folder.Set("Matrix", System.Text.Json.Nodes.JsonNode.Parse("{" + example + "}")!["Matrix"]!.DeepClone());

        CiRunner.Configuration.ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Single(result.Settings.Matrix.Include);
        Assert.Single(result.Settings.Matrix.Exclude);
        Assert.Equal("2024.1", Assert.Single(result.Settings.Matrix.CompatibilityCells).Release);
    }

    [Fact]
    public void GerritExample_Loads()
    {
        string example = CodeBlock().Matches(_document).Select(m => m.Groups["body"].Value).First(b => b.StartsWith("\"Gerrit\"", StringComparison.Ordinal)).Replace("scenario004", "lib-only", StringComparison.Ordinal);
        using var folder = new ConfigFolder();
        folder.Set("Modules:0:ChangeRefs", true);
        folder.Set("Gerrit", System.Text.Json.Nodes.JsonNode.Parse("{" + example + "}")!["Gerrit"]!.DeepClone());

        CiRunner.Configuration.ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(("Acme Puppet CI", false), (result.Settings.Gerrit!.CiName, result.Settings.Gerrit.Voting));
    }

    [Fact]
    public async Task EnginesExample_Loads()
    {
        // The example's certificate directory is made here; its engines are not contacted by loading.
        using var certificates = new TempDirectory();
        string client = await TestCertificates.MakeAsync(certificates);
        string example = CodeBlock().Matches(_document).Select(m => m.Groups["body"].Value).First(b => b.StartsWith("\"Docker\"", StringComparison.Ordinal)).Replace("tls/rack1", client, StringComparison.Ordinal);
        using var folder = new ConfigFolder();
        folder.Set("Docker", System.Text.Json.Nodes.JsonNode.Parse("{" + example + "}")!["Docker"]!.DeepClone());

        CiRunner.Configuration.ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(["rack1-a", "rack1-b", "old-releases"], result.Settings.Docker.Engines.Select(e => e.Name));
        Assert.Equal(["zed", "2023.1"], result.Settings.Docker.Engines[2].Releases);
        Assert.Equal(client, result.Settings.Docker.TlsCertDirectory);
    }

    private static string Block(string language) =>
        CodeBlock().Matches(_document).First(m => m.Groups["language"].Value == language).Groups["body"].Value;

    [GeneratedRegex("```(?<language>[a-z]+)\\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}
