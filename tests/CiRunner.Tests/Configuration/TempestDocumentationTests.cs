using System.Text.RegularExpressions;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>The tempest step example in docs/configuration.md is read by the scenario loader, so it cannot drift.</summary>
public sealed partial class TempestDocumentationTests
{
    [Fact]
    public void TempestExample_Loads_WithTheDefaultsItStates()
    {
        // Given the documented steps in a scenario beside the tempest.conf they name
        string document = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "configuration.md"));
        string example = YamlBlock().Matches(document).Select(m => m.Groups["body"].Value).Single(b => b.Contains("type: tempest", StringComparison.Ordinal));
        using var folder = new ConfigFolder();
        folder.Write("scenarios/keystone-glance/tempest.conf", "[auth]\n");
        folder.Write("scenarios/documented.yaml", "name: documented\nmanifest: basic.pp\nmodules: [keystone]\n" + example);

        // When it is loaded
        ScenarioLoadResult result = ScenarioLoader.Load(Path.Combine(folder.Root, "scenarios"), releases: null);

        // Then its include list is the default one, and so is its concurrency
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        TempestSettings tempest = Assert.Single(result.Scenarios, s => s.Name == "documented").Steps[2].Tempest!;
        Assert.Equal(TempestSettings.DefaultInclude, tempest.Include);
        Assert.Equal(TempestSettings.DefaultConcurrency, tempest.Concurrency);
        Assert.Equal(["test_credentials_create_get_update_delete"], tempest.Exclude);
    }

    [GeneratedRegex("```yaml\\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
