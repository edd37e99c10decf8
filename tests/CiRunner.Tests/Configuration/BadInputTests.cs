using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>
/// One broken thing per row (a configuration key, a Puppetfile, a scenario file) in an otherwise valid folder:
/// loading fails and one error names the file, the key or line, and the bad value.
/// </summary>
public sealed class BadInputTests
{
    /// <summary>A broken input: how to break it, and where the error must point (Value null: reported as missing).</summary>
    public sealed record BrokenInput(Action<ConfigFolder> Break, string File, string Location, string? Value, string? Expected = null);

    private const string Settings = "appsettings.json";
    private const string ZedPuppetfile = "zed.Puppetfile";

    private static readonly Dictionary<string, BrokenInput> _cases = new()
    {
        // Configuration keys
        ["parallel jobs not a number"] = new(c => c.Set("Docker:ParallelJobs", "two"), Settings, "Docker:ParallelJobs", "two", "a whole number from 1 to 64"),
        ["parallel jobs zero"] = new(c => c.Set("Docker:ParallelJobs", 0), Settings, "Docker:ParallelJobs", "0", "1 to 64"),
        ["parallel jobs above 64"] = new(c => c.Set("Docker:ParallelJobs", 65), Settings, "Docker:ParallelJobs", "65", "1 to 64"),
        ["memory below 64 MiB"] = new(c => c.Set("Docker:MemoryMb", 32), Settings, "Docker:MemoryMb", "32", "at least 64"),
        ["cpus zero"] = new(c => c.Set("Docker:Cpus", 0), Settings, "Docker:Cpus", "0", "greater than 0"),
        ["cpus not a number"] = new(c => c.Set("Docker:Cpus", "lots"), Settings, "Docker:Cpus", "lots"),
        ["pids limit below 16"] = new(c => c.Set("Docker:PidsLimit", 8), Settings, "Docker:PidsLimit", "8", "at least 16"),
        ["network mode empty"] = new(c => c.Set("Docker:NetworkMode", ""), Settings, "Docker:NetworkMode", ""),
        ["job timeout zero"] = new(c => c.Set("Docker:JobTimeout", "0s"), Settings, "Docker:JobTimeout", "0s", "longer than zero"),
        ["docker endpoint http"] = new(c => c.Set("Docker:Endpoint", "http://localhost:2375"), Settings, "Docker:Endpoint", "http://localhost:2375", "unix://"),
        ["docker key misspelt"] = new(c => c.Set("Docker:ParalelJobs", 3), Settings, "Docker:ParalelJobs", "ParalelJobs", "one of the keys"),
        ["poll interval below 5 s"] = new(c => c.Set("Schedule:PollInterval", "00:00:02"), Settings, "Schedule:PollInterval", "00:00:02", "at least 5s"),
        ["nightly cron in crontab form"] = new(c => c.Set("Schedule:NightlyCron", "0 2 * * *"), Settings, "Schedule:NightlyCron", "0 2 * * *", "Quartz cron"),
        ["nightly flag not a boolean"] = new(c => c.Set("Schedule:NightlySkipUnchanged", "maybe"), Settings, "Schedule:NightlySkipUnchanged", "maybe", "true or false"),
        ["poll jitter negative"] = new(c => c.Set("Schedule:PollJitter", "-00:00:01"), Settings, "Schedule:PollJitter", "-00:00:01", "0s or longer"),
        ["poll jitter longer than the interval"] = new(c => { c.Set("Schedule:PollInterval", "00:00:10"); c.Set("Schedule:PollJitter", "00:01:00"); }, Settings, "Schedule:PollJitter", "00:01:00", "no longer than Schedule:PollInterval"),
        ["nightly branch pattern invalid"] = new(c => c.Set("Schedule:NightlyBranches", new JsonArray("stable/[x]")), Settings, "Schedule:NightlyBranches:0", "stable/[x]", "branch"),
        ["nightly branches empty"] = new(c => c.Set("Schedule:NightlyBranches", new JsonArray()), Settings, "Schedule:NightlyBranches", "[]", "at least one branch pattern"),
        ["protect reads not a boolean"] = new(c => c.Set("Http:ProtectReads", "sometimes"), Settings, "Http:ProtectReads", "sometimes", "true or false"),
        ["matrix key misspelt"] = new(c => c.Set("Matrix", new JsonObject { ["Excludes"] = new JsonArray() }), Settings, "Matrix:Excludes", "Excludes", "one of the keys Include, Exclude, CompatibilityCells, Rollback"),
        ["matrix exclude unknown release"] = new(c => c.Set("Matrix", new JsonObject { ["Exclude"] = new JsonArray(new JsonObject { ["Release"] = "2099.*" }) }), Settings, "Matrix:Exclude:0:Release", "2099.*", "a configured release (or a pattern with *): zed, 2023.1, 2024.1, 2024.2"),
        ["matrix include without scenario"] = new(c => c.Set("Matrix", new JsonObject { ["Include"] = new JsonArray(new JsonObject { ["Release"] = "2024.1" }) }), Settings, "Matrix:Include:0:Scenario", null, "a scenario name: basic, lib-only"),
        ["matrix include wildcard"] = new(c => c.Set("Matrix", new JsonObject { ["Include"] = new JsonArray(new JsonObject { ["Release"] = "2024.*", ["Scenario"] = "basic" }) }), Settings, "Matrix:Include:0:Release", "2024.*", "a configured release"),
        ["matrix include upgrade from a newer release"] = new(c => c.Set("Matrix", new JsonObject { ["Include"] = new JsonArray(new JsonObject { ["Kind"] = "upgrade", ["Release"] = "2024.1", ["FromRelease"] = "2024.2", ["Scenario"] = "basic" }) }), Settings, "Matrix:Include:0:FromRelease", "2024.2", "a release older than 2024.1 to upgrade from"),
        ["matrix kind unknown"] = new(c => c.Set("Matrix", new JsonObject { ["Exclude"] = new JsonArray(new JsonObject { ["Kind"] = "upgrades" }) }), Settings, "Matrix:Exclude:0:Kind", "upgrades", "deploy, upgrade or rollback"),
        ["matrix deploy cell with a from-release"] = new(c => c.Set("Matrix", new JsonObject { ["Exclude"] = new JsonArray(new JsonObject { ["Kind"] = "deploy", ["FromRelease"] = "zed" }) }), Settings, "Matrix:Exclude:0:FromRelease", "zed", "no FromRelease for a deploy cell"),
        ["matrix compatibility release unknown"] = new(c => c.Set("Matrix", new JsonObject { ["CompatibilityCells"] = new JsonArray(new JsonObject { ["Branch"] = "master", ["Release"] = "newest" }) }), Settings, "Matrix:CompatibilityCells:0:Release", "newest", "or newest-stable"),
        ["matrix rollback not a boolean"] = new(c => c.Set("Matrix", new JsonObject { ["Rollback"] = "always" }), Settings, "Matrix:Rollback", "always", "true or false"),
        ["module change refs not a boolean"] = new(c => c.Set("Modules:0:ChangeRefs", "yes please"), Settings, "Modules:0:ChangeRefs", "yes please", "true or false"),
        ["listen not a URL"] = new(c => c.Set("Http:Listen", "localhost:8080"), Settings, "Http:Listen", "localhost:8080", "http://"),
        ["api token variable not a name"] = new(c => c.Set("Http:ApiTokenVariable", "1-TOKEN"), Settings, "Http:ApiTokenVariable", "1-TOKEN", "environment variable name"),
        ["api token in the file"] = new(c => c.Set("Http:ApiToken", "s3cret-token"), Settings, "Http:ApiToken", ConfigurationError.Redacted, "Http:ApiTokenVariable"),
        ["password in a module URL"] = new(c => c.Set("Modules:0:Url", "https://bob:hunter2@opendev.org/openstack/puppet-keystone"), Settings, "Modules:0:Url", "https://bob:***@opendev.org/openstack/puppet-keystone", "environment"),
        ["password in module credentials"] = new(c => c.Set("Modules:0:Credentials", new JsonObject { ["Password"] = "hunter2" }), Settings, "Modules:0:Credentials:Password", ConfigurationError.Redacted, "environment variable"),
        ["credentials variable missing"] = new(c => c.Set("Modules:0:Credentials", new JsonObject { ["UsernameVariable"] = "GIT_USER" }), Settings, "Modules:0:Credentials:PasswordVariable", null),
        ["module name missing"] = new(c => c.Section("Modules:0").AsObject().Remove("Name"), Settings, "Modules:0:Name", null, "short Puppet name"),
        ["module name duplicate"] = new(c => c.Set("Modules:1:Name", "keystone"), Settings, "Modules:1:Name", "keystone", "Modules:0"),
        ["module URL scheme unknown"] = new(c => c.Set("Modules:0:Url", "ftp://example.org/puppet-keystone"), Settings, "Modules:0:Url", "ftp://example.org/puppet-keystone", "git URL"),
        ["module local path missing"] = new(c => c.Set("Modules:0:Url", "repos/keystone"), Settings, "Modules:0:Url", "repos/keystone", "does not exist"),
        ["module branch pattern invalid"] = new(c => c.Set("Modules:0:Branches", new JsonArray("master", "stable/[2024]")), Settings, "Modules:0:Branches:1", "stable/[2024]", "branch"),
        ["modules as an object"] = new(c => c.Set("Modules", new JsonObject { ["keystone"] = new JsonObject { ["Url"] = "https://x/y" } }), Settings, "Modules:keystone", "keystone", "JSON array"),
        ["module given as a plain name"] = new(c => c.Set("Modules:1", "openstacklib"), Settings, "Modules:1", "openstacklib", "an object with the keys"),
        ["credentials given as text"] = new(c => c.Set("Modules:0:Credentials", "GIT_USER"), Settings, "Modules:0:Credentials", "GIT_USER", "an object with the keys"),
        ["release name duplicate"] = new(c => c.Set("Releases:1:Name", "zed"), Settings, "Releases:1:Name", "zed", "Releases:0"),
        ["numbered releases out of order"] = new(c => c.Set("Releases:2:Name", "2022.2"), Settings, "Releases:2:Name", "2022.2", "2023.1 on"),
        ["numbered release before an older one"] = new(c => { c.Set("Releases:1:Name", "2024.1"); c.Set("Releases:2:Name", "2023.1"); }, Settings, "Releases:2:Name", "2023.1", "oldest first"),
        ["named release after numbered ones"] = new(c => c.Set("Releases:2:Name", "antelope"), Settings, "Releases:2:Name", "antelope", "before the numbered ones"),
        ["two development releases"] = new(c => c.Set("Releases:2:Branches", new JsonArray("master")), Settings, "Releases:3:Branches", "master", "at most one development release"),
        ["development release not last"] = new(c => { c.Set("Releases:1:Branches", new JsonArray("master")); }, Settings, "Releases:2:Name", "2024.1", "last"),
        ["release image invalid"] = new(c => c.Set("Releases:2:Image", "Not An Image"), Settings, "Releases:2:Image", "Not An Image", "image reference"),
        ["release branches missing"] = new(c => c.Section("Releases:0").AsObject().Remove("Branches"), Settings, "Releases:0:Branches", null),
        ["release branch candidate with wildcard"] = new(c => c.Set("Releases:0:Branches", new JsonArray("stable/*")), Settings, "Releases:0:Branches:0", "stable/*", "no wildcards"),
        ["release Puppetfile missing"] = new(c => c.Set("Releases:0:Puppetfile", "puppetfiles/nope.Puppetfile"), Settings, "Releases:0:Puppetfile", "puppetfiles/nope.Puppetfile", "does not exist"),
        ["release slurp not a boolean"] = new(c => c.Set("Releases:0:Slurp", "sometimes"), Settings, "Releases:0:Slurp", "sometimes", "true or false"),
        ["upgrade prepare command a string"] = new(c => c.Set("Releases:0:UpgradePrepareCommand", "apt-get update"), Settings, "Releases:0:UpgradePrepareCommand", "apt-get update", "argument array"),
        ["scenarios directory missing"] = new(c => c.Set("Service:ScenariosDirectory", "nowhere"), Settings, "Service:ScenariosDirectory", "nowhere", "does not exist"),
        ["instance id with spaces"] = new(c => c.Set("Service:InstanceId", "my instance"), Settings, "Service:InstanceId", "my instance"),
        ["invalid JSON"] = new(c => File.WriteAllText(c.ConfigFile, "{\n  \"Docker\": {\n    \"ParallelJobs\": 2,,\n  }\n}"), Settings, "line 3", "", "valid JSON"),

        // Puppetfiles
        ["forge-only module with a version"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", ConfigFolder.Puppetfile + "mod 'puppetlabs-inifile', '6.1.0'\n"), ZedPuppetfile, "line 15", "puppetlabs-inifile", "offline and repeatable"),
        ["module without git"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone'\n"), ZedPuppetfile, "line 1", "mod 'keystone'", "add :git"),
        ["unknown Puppetfile key"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone',\n  :git => 'https://x/keystone',\n  :reff => 'master'\n"), ZedPuppetfile, "line 3", ":reff", ":git, :ref, :branch, :tag, :commit"),
        ["duplicate module in Puppetfile"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", ConfigFolder.Puppetfile + "mod 'openstack/keystone', :git => 'https://x/keystone', :ref => 'master'\n"), ZedPuppetfile, "line 15", "openstack/keystone", "line 4"),
        ["unterminated string"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone',\n  :git => 'https://x/keystone,\n  :ref => 'master'\n"), ZedPuppetfile, "line 2", "'https://x/keystone,", "closed"),
        ["symbol as a ref"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone', :git => 'https://x/keystone', :branch => :control_branch\n"), ZedPuppetfile, "line 1", ":control_branch", "quoted string"),
        ["ref and tag together"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone', git: 'https://x/keystone', ref: 'master', tag: 'v1'\n"), ZedPuppetfile, "line 1", ":ref, :tag", "only one"),
        ["unknown statement"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "\n\nmodule 'keystone'\n"), ZedPuppetfile, "line 3", "module", "forge, moduledir or mod"),
        ["commit not hex"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone', :git => 'https://x/keystone', :commit => 'not-a-sha'\n"), ZedPuppetfile, "line 1", "not-a-sha", "hex"),
        ["password in a Puppetfile git URL"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", "mod 'keystone', :git => 'https://bob:hunter2@x/keystone', :ref => 'master'\n"), ZedPuppetfile, "line 1", "https://bob:***@x/keystone", "password"),

        // Scenario files
        ["invalid YAML"] = new(c => c.Write("scenarios/basic.yaml", "name: basic\nmodules: [keystone\nmanifest: basic.pp\n"), "basic.yaml", "line 2", "", "valid YAML"),
        ["unknown scenario key"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "timeout: 5m\n"), "basic.yaml", "line 5, timeout", "timeout", "one of the keys"),
        ["manifest file missing"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario.Replace("basic.pp", "missing.pp", StringComparison.Ordinal)), "basic.yaml", "line 3, manifest", "missing.pp", "existing manifest"),
        ["module in no Puppetfile"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario.Replace("stdlib]", "stdlib, nova]", StringComparison.Ordinal)), "basic.yaml", "line 4, modules", "nova", "Puppetfile"),
        ["module missing from one release"] = new(c => c.Write("scenarios/puppetfiles/zed.Puppetfile", ConfigFolder.Puppetfile.Replace("mod 'keystone'", "mod 'keystonex'", StringComparison.Ordinal)), "basic.yaml", "line 4, modules", "keystone", "missing for zed"),
        ["unknown release"] = new(c => c.Write("scenarios/lib-only.yaml", ConfigFolder.LibOnlyScenario.Replace("2024.2]", "2099.1]", StringComparison.Ordinal)), "lib-only.yaml", "line 4, releases", "2099.1", "zed, 2023.1, 2024.1, 2024.2"),
        ["bad step type"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - apply\n  - type: deploy\n"), "basic.yaml", "line 7, steps[1].type", "deploy", "apply, idempotency, command or tempest"),
        ["bad step shorthand"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps: [apply, idempotent]\n"), "basic.yaml", "line 5, steps[1]", "idempotent", "apply, idempotency, command or tempest"),
        ["command not a list"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - apply\n  - type: command\n    command: test -f /etc/x\n"), "basic.yaml", "line 8, steps[1].command", "test -f /etc/x", "argument list"),
        ["command empty"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - apply\n  - type: command\n    command: []\n"), "basic.yaml", "line 8, steps[1].command", "[]", "non-empty"),
        ["command step without command"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - type: command\n    name: nothing\n"), "basic.yaml", "line 6, steps[0].command", null, "argument list"),
        ["bad timeout"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - type: apply\n    timeout: 2x\n"), "basic.yaml", "line 7, steps[0].timeout", "2x", "30s, 5m"),
        ["retention max age too short"] = new(c => c.Set("Retention", new JsonObject { ["MaxAge"] = "10m" }), Settings, "Retention:MaxAge", "10m", "at least 1h"),
        ["retention cron broken"] = new(c => c.Set("Retention", new JsonObject { ["Cron"] = "nightly" }), Settings, "Retention:Cron", "nightly", "Quartz cron"),
        ["noop not a boolean"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - type: apply\n    noop: sometimes\n"), "basic.yaml", "line 7, steps[0].noop", "sometimes", "true or false"),
        ["noop on a command step"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps:\n  - type: command\n    command: [true]\n    noop: true\n"), "basic.yaml", "line 8, steps[0].noop", "true", "only apply and idempotency steps take it"),
        ["idempotency before apply"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "steps: [idempotency, apply]\n"), "basic.yaml", "line 5, steps[0]", "idempotency", "apply step before"),
        ["duplicate scenario names"] = new(c => c.Write("scenarios/other.yaml", ConfigFolder.BasicScenario), "other.yaml", "line 1, name", "basic", "basic.yaml"),
        ["scenario name missing"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario.Replace("name: basic\n", "", StringComparison.Ordinal)), "basic.yaml", "line 1, name", null),
        ["upgrade not a boolean"] = new(c => c.Write("scenarios/basic.yaml", ConfigFolder.BasicScenario + "upgrade: sometimes\n"), "basic.yaml", "line 5, upgrade", "sometimes", "true or false"),
    };

    public static TheoryData<string> CaseNames => new(_cases.Keys);

    [Fact]
    public void Table_HasAtLeastTwentyCases() => Assert.True(_cases.Count >= 20);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Load_OneThingBroken_ReportsFileLocationAndValue(string name)
    {
        // Given a valid folder with one thing broken
        BrokenInput broken = _cases[name];
        using var folder = new ConfigFolder();
        folder.Save();
        broken.Break(folder);
        if (!name.Equals("invalid JSON", StringComparison.Ordinal))
        {
            // Most cases edit the JSON in memory; the JSON case wrote the file itself.
            folder.Save();
        }

        // When it is loaded
        ConfigurationLoadResult result = ConfigurationLoader.Load(folder.ConfigFile);

        // Then one error points at the file, the key or line, and the bad value
        Assert.False(result.Succeeded);
        string all = string.Join(Environment.NewLine, result.Errors.Select(e => e.ToString()));
        ConfigurationError? match = result.Errors.FirstOrDefault(e =>
            e.File.EndsWith(broken.File, StringComparison.Ordinal)
            && e.Location == broken.Location
            && (broken.Value is null ? e.Value is null : e.Value is not null && e.Value.Contains(broken.Value, StringComparison.Ordinal))
            && (broken.Expected is null || e.Expected.Contains(broken.Expected, StringComparison.Ordinal)));
        Assert.True(match is not null, $"No error for {broken.File} {broken.Location} '{broken.Value}'. Errors:{Environment.NewLine}{all}");

        // And secrets never appear in any error
        Assert.DoesNotContain("hunter2", all, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", all, StringComparison.Ordinal);
    }
}
