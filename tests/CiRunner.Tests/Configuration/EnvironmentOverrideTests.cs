using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

[Collection(ProcessEnvironment.Name)]
public sealed class EnvironmentOverrideTests
{
    [Fact]
    public void Load_EnvironmentVariableSet_WinsOverTheFile()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParallelJobs", 2);
        using var variable = new EnvironmentVariable("CIRUNNER__Docker__ParallelJobs", "4");

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(4, result.Settings.Docker.ParallelJobs);
    }

    [Fact]
    public void Load_EnvironmentVariableInvalid_NamesTheVariable()
    {
        using var folder = new ConfigFolder();
        using var variable = new EnvironmentVariable("CIRUNNER__Docker__ParallelJobs", "lots");

        ConfigurationLoadResult result = folder.Load();

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal("environment: CIRUNNER__Docker__ParallelJobs: 'lots' is not valid; expected a whole number from 1 to 64", error.ToString());
    }

    [Fact]
    public void Load_SecretInEnvironmentConfiguration_IsRejectedAndRedacted()
    {
        using var folder = new ConfigFolder();
        using var variable = new EnvironmentVariable("CIRUNNER__Http__ApiToken", "s3cret");

        ConfigurationLoadResult result = folder.Load();

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal(("environment", "CIRUNNER__Http__ApiToken", ConfigurationError.Redacted), (error.File, error.Location, error.Value));
    }

    [Fact]
    public void Load_EnvironmentVariableForAnEngine_WinsOverTheFile()
    {
        using var folder = new ConfigFolder();
        EngineConfigurationTests.SetPool(folder, tls: null);
        using var variable = new EnvironmentVariable("CIRUNNER__Docker__Engines__0__Capacity", "3");

        ConfigurationLoadResult result = folder.Load();

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal([3, 2, 1], result.Settings.Docker.Engines.Select(e => e.Capacity));
    }

    [Fact]
    public void Load_EnvironmentVariableForAnEngineInvalid_NamesTheVariable()
    {
        using var folder = new ConfigFolder();
        EngineConfigurationTests.SetPool(folder, tls: null);
        using var variable = new EnvironmentVariable("CIRUNNER__Docker__Engines__2__Releases__1", "yoga");

        ConfigurationLoadResult result = folder.Load();

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal("environment: CIRUNNER__Docker__Engines__2__Releases__1: 'yoga' is not valid; expected a release configured in Releases: zed, 2023.1, 2024.1, 2024.2 (leave Releases out, or [], for every release)", error.ToString());
    }

    /// <summary>Sets a variable for one test and restores the previous value.</summary>
    private sealed class EnvironmentVariable : IDisposable
    {
        private readonly string _name;
        private readonly string? _previous;

        public EnvironmentVariable(string name, string value)
        {
            _name = name;
            _previous = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
    }
}
