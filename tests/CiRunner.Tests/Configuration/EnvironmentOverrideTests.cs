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
