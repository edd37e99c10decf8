using System.Reflection;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Configuration;

/// <summary>The generated validators state each rule's fix, and the options pattern runs them at start.</summary>
public sealed class OptionsValidatorTests
{
    [Fact]
    public void Validate_ValueBreaksARule_FailureNamesTheMemberAndTheFix()
    {
        ValidateOptionsResult result = new DockerOptionsValidator().Validate(null, new DockerOptions { ParallelJobs = 0, MemoryMb = 32 });

        Assert.Equal(["ParallelJobs: a whole number from 1 to 64", "MemoryMb: a whole number of MiB, at least 64"], result.Failures);
    }

    [Fact]
    public void Validate_CronQuartzRefuses_FixCarriesQuartzsReason()
    {
        ValidateOptionsResult result = new ScheduleOptionsValidator().Validate(null, new ScheduleOptions { NightlyCron = "0 2 * * *" });

        string failure = Assert.Single(result.Failures!);
        Assert.StartsWith("NightlyCron: a Quartz cron expression with seconds first, like 0 0 2 * * ? for 02:00 every day (", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RuleAcrossKeys_NamesBothMembers()
    {
        var schedule = new ScheduleOptions { PollInterval = TimeSpan.FromSeconds(10), PollJitter = TimeSpan.FromMinutes(1) };

        ValidateOptionsResult result = new ScheduleOptionsValidator().Validate(null, schedule);

        Assert.Equal(["PollJitter, PollInterval: a duration no longer than Schedule:PollInterval (00:00:10)"], result.Failures);
    }

    [Fact]
    public void Validate_BadListItems_NamesEachItemByIndex()
    {
        ValidateOptionsResult result = new DockerOptionsValidator().Validate(null, new DockerOptions { DropCapabilities = ["NET_RAW", "FLY", "cap_mknod", "SWIM"] });

        Assert.Equal(["DropCapabilities:1, DropCapabilities:3: a Linux capability name like NET_RAW or CAP_NET_RAW (see capabilities(7)), or ALL"], result.Failures);
    }

    [Fact]
    public void Load_UnknownKey_ListsEveryPropertyOfTheOptionsType()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:ParalelJobs", 3);

        ConfigurationError error = Assert.Single(folder.Load().Errors);

        string[] properties = [.. typeof(DockerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name)];
        Assert.Equal($"one of the keys {string.Join(", ", properties)} (keys are not case-sensitive)", error.Expected);
    }

    [Fact]
    public void Load_ListItemOfTheWrongTypeBetweenBadOnes_ReportsEachAtItsOwnKey()
    {
        using var folder = new ConfigFolder();
        folder.Set("Docker:DropCapabilities", new System.Text.Json.Nodes.JsonArray("NET_RAW", "FLY", new System.Text.Json.Nodes.JsonObject(), "SWIM"));

        ConfigurationLoadResult result = folder.Load();

        Assert.Equal(
            [("Docker:DropCapabilities:1", "FLY"), ("Docker:DropCapabilities:2", "(an object)"), ("Docker:DropCapabilities:3", "SWIM")],
            result.Errors.Select(e => (e.Location, e.Value)));
    }

    [Fact]
    public async Task StartHost_SectionBrokenAfterLoading_FailsWithTheSameFix()
    {
        // Given valid settings, then a section changed after loading
        using var folder = new ConfigFolder();
        CiRunnerSettings settings = Assert.IsType<CiRunnerSettings>(folder.Load().Settings);
        settings.Docker.ParallelJobs = 0;
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddCiRunnerSettings(settings);
        using IHost host = builder.Build();

        // When the host starts, Then ValidateOnStart runs the section's validator and stops it with the fix
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("ParallelJobs: a whole number from 1 to 64", failure.Failures);
    }
}
