using System.Globalization;
using System.Text.RegularExpressions;
using CiRunner.Matrix;
using Quartz;

namespace CiRunner.Configuration;

// One method per section: what each key may hold, and what the error says when it does not.
public static partial class ConfigurationLoader
{
    private const string EnvironmentVariableExpected = "an environment variable name (letters, digits and _, not starting with a digit)";

    private static readonly string[] _serviceKeys =
    [
        nameof(ServiceOptions.InstanceId), nameof(ServiceOptions.DataDirectory), nameof(ServiceOptions.ScenariosDirectory), nameof(ServiceOptions.ImageRecipesDirectory),
        nameof(ServiceOptions.DrainTimeout), nameof(ServiceOptions.MaxAttempts),
        nameof(ServiceOptions.DatabaseLockTimeout), nameof(ServiceOptions.MinFreeDiskMb),
    ];

    private static readonly string[] _dockerKeys =
    [
        nameof(DockerOptions.Endpoint), nameof(DockerOptions.ParallelJobs), nameof(DockerOptions.MemoryMb), nameof(DockerOptions.Cpus),
        nameof(DockerOptions.PidsLimit), nameof(DockerOptions.NetworkMode), nameof(DockerOptions.JobTimeout),
        nameof(DockerOptions.TlsCertDirectory), nameof(DockerOptions.NoNewPrivileges), nameof(DockerOptions.DropCapabilities),
        nameof(DockerOptions.BootTimeout),
    ];

    // Linux capability names (capabilities(7)); Docker refuses a container with any other.
    private static readonly HashSet<string> _capabilities = new(StringComparer.Ordinal)
    {
        "ALL", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
        "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
        "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
        "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    };

    private static readonly string[] _scheduleKeys = 
    [
        nameof(ScheduleOptions.PollInterval), nameof(ScheduleOptions.PollJitter), nameof(ScheduleOptions.NightlyCron),
        nameof(ScheduleOptions.NightlySkipUnchanged), nameof(ScheduleOptions.NightlyBranches),
    ];

    private static readonly string[] _retentionKeys = [nameof(RetentionOptions.Enabled), nameof(RetentionOptions.MaxAge), nameof(RetentionOptions.Cron)];
    private static readonly string[] _httpKeys = [nameof(HttpOptions.Listen), nameof(HttpOptions.ApiTokenVariable), nameof(HttpOptions.ApiTokenFile), nameof(HttpOptions.ProtectReads), nameof(HttpOptions.PublicUrl)];
    private static readonly string[] _moduleKeys = [nameof(ModuleOptions.Name), nameof(ModuleOptions.Url), nameof(ModuleOptions.Branches), nameof(ModuleOptions.Credentials), nameof(ModuleOptions.ChangeRefs)];
    private static readonly string[] _credentialKeys =
    [
        nameof(ModuleCredentialsOptions.UsernameVariable), nameof(ModuleCredentialsOptions.UsernameFile),
        nameof(ModuleCredentialsOptions.PasswordVariable), nameof(ModuleCredentialsOptions.PasswordFile),
    ];
    private static readonly string[] _releaseKeys =
    [
        nameof(ReleaseOptions.Name), nameof(ReleaseOptions.Branches), nameof(ReleaseOptions.Image), nameof(ReleaseOptions.Puppetfile),
        nameof(ReleaseOptions.Slurp), nameof(ReleaseOptions.UpgradePrepareCommand), nameof(ReleaseOptions.Suite),
        nameof(ReleaseOptions.Init), nameof(ReleaseOptions.PackageSnapshot),
    ];

    private static ServiceOptions ReadService(ConfigurationReader reader, string baseDirectory)
    {
        const string Section = ServiceOptions.SectionName;
        var defaults = new ServiceOptions();
        reader.RejectUnknownKeys(Section, _serviceKeys);
        string instanceId = reader.String($"{Section}:InstanceId", defaults.InstanceId, InstanceId().IsMatch,
            "lower-case letters, digits, '.', '_' or '-', at most 63 characters (it labels this instance's containers)")!;
        string dataDirectory = reader.String($"{Section}:DataDirectory", defaults.DataDirectory, IsPath,
            "a directory path, absolute or relative to the configuration file's folder")!;
        string scenariosKey = $"{Section}:ScenariosDirectory";
        string scenariosDirectory = reader.String(scenariosKey, defaults.ScenariosDirectory, IsPath,
            "an existing directory of scenario files, absolute or relative to the configuration file's folder")!;
        string scenariosFull = Path.GetFullPath(Path.Combine(baseDirectory, scenariosDirectory));
        if (!reader.IsReported(scenariosKey) && !Directory.Exists(scenariosFull))
        {
            reader.Error(scenariosKey, scenariosDirectory, $"an existing directory of scenario files ({scenariosFull} does not exist)");
        }

        // Not required to exist: without recipes a missing image fails its job with the command that builds it.
        string recipesDirectory = reader.String($"{Section}:ImageRecipesDirectory", defaults.ImageRecipesDirectory, IsPath,
            "a directory path, absolute or relative to the configuration file's folder")!;

        TimeSpan drainTimeout = reader.Duration($"{Section}:DrainTimeout", defaults.DrainTimeout, t => t >= TimeSpan.Zero && t <= TimeSpan.FromHours(24),
            Matrix.Duration.Expected + ", from 0s (cancel running jobs at once) to 24h");
        int maxAttempts = reader.Int($"{Section}:MaxAttempts", defaults.MaxAttempts, 1, 10,
            "a whole number from 1 (never retry) to 10");

        return new ServiceOptions
        {
            InstanceId = instanceId,
            DrainTimeout = drainTimeout,
            MaxAttempts = maxAttempts,
            DataDirectory = Path.GetFullPath(Path.Combine(baseDirectory, dataDirectory)),
            ScenariosDirectory = scenariosFull,
            ImageRecipesDirectory = Path.GetFullPath(Path.Combine(baseDirectory, recipesDirectory)),
            DatabaseLockTimeout = reader.Duration($"{Section}:DatabaseLockTimeout", defaults.DatabaseLockTimeout,
                t => t >= TimeSpan.FromSeconds(5) && t <= TimeSpan.FromHours(1),
                Matrix.Duration.Expected + ", from 5s (one wait of SQLite's busy timeout) to 1h"),
            MinFreeDiskMb = reader.Int($"{Section}:MinFreeDiskMb", defaults.MinFreeDiskMb, 0, 1024 * 1024 * 1024,
                "a whole number of MiB, 0 or more (0 turns the free-space check off)"),
        };
    }

    private static DockerOptions ReadDocker(ConfigurationReader reader, string baseDirectory)
    {
        const string Section = DockerOptions.SectionName;
        var defaults = new DockerOptions();
        reader.RejectUnknownKeys(Section, _dockerKeys);
        var docker = new DockerOptions
        {
            Endpoint = reader.String($"{Section}:Endpoint", defaults.Endpoint, IsDockerEndpoint,
                "a Docker engine endpoint: unix:///var/run/docker.sock, tcp://host:2376 or npipe://./pipe/docker_engine")!,
            ParallelJobs = reader.Int($"{Section}:ParallelJobs", defaults.ParallelJobs, 1, 64, "a whole number from 1 to 64"),
            MemoryMb = reader.Int($"{Section}:MemoryMb", defaults.MemoryMb, 64, int.MaxValue, "a whole number of MiB, at least 64"),
            Cpus = reader.Double($"{Section}:Cpus", defaults.Cpus, c => c > 0 && c <= 1024, "a number of cores greater than 0 (fractions allowed, like 1.5)"),
            PidsLimit = reader.Int($"{Section}:PidsLimit", defaults.PidsLimit, 16, int.MaxValue, "a whole number of processes, at least 16"),
            NetworkMode = reader.String($"{Section}:NetworkMode", defaults.NetworkMode, v => v.Length > 0 && !v.Any(char.IsWhiteSpace),
                "a Docker network mode such as none, bridge or host (none keeps jobs offline)")!,
            JobTimeout = reader.Duration($"{Section}:JobTimeout", defaults.JobTimeout, t => t > TimeSpan.Zero, Matrix.Duration.Expected + ", longer than zero"),
            NoNewPrivileges = reader.Bool($"{Section}:NoNewPrivileges", defaults.NoNewPrivileges),
            BootTimeout = reader.Duration($"{Section}:BootTimeout", defaults.BootTimeout, t => t >= TimeSpan.FromSeconds(5) && t <= TimeSpan.FromHours(1),
                Matrix.Duration.Expected + ", from 5 s to 1 h"),
            DropCapabilities = reader.StringList($"{Section}:DropCapabilities", "a JSON array of Linux capability names like [\"NET_RAW\", \"MKNOD\"]",
                c => _capabilities.Contains(CapabilityName(c)), "a Linux capability name like NET_RAW or CAP_NET_RAW (see capabilities(7)), or ALL")
                ?.Select(CapabilityName).Distinct(StringComparer.Ordinal).ToList() ?? defaults.DropCapabilities,
        };
        docker.TlsCertDirectory = ReadTlsCertDirectory(reader, $"{Section}:TlsCertDirectory", docker.Endpoint, baseDirectory);
        return docker;
    }

    /// <summary>The TLS certificate directory, made absolute, once its three files exist and load; null when not configured.</summary>
    private static string? ReadTlsCertDirectory(ConfigurationReader reader, string key, string endpoint, string baseDirectory)
    {
        string? directory = reader.String(key, null, IsPath, "a directory with ca.pem, cert.pem and key.pem, absolute or relative to the configuration file's folder");
        if (directory is null || reader.IsReported(key))
        {
            return null;
        }

        if (!endpoint.StartsWith("tcp://", StringComparison.Ordinal))
        {
            reader.Error(key, directory, $"no value with Docker:Endpoint '{endpoint}': TLS client certificates apply to tcp://host:2376 endpoints only");
            return null;
        }

        string full = Path.GetFullPath(Path.Combine(baseDirectory, directory));
        string[] missing = [.. DockerTlsDirectory.Files.Where(file => !File.Exists(Path.Combine(full, file)))];
        if (missing.Length > 0)
        {
            reader.Error(key, directory, $"a directory with {string.Join(", ", DockerTlsDirectory.Files)} (missing in {full}: {string.Join(", ", missing)})");
            return null;
        }

        if (DockerTlsDirectory.Problem(full) is { } problem)
        {
            reader.Error(key, directory, $"PEM files a TLS client can use ({problem})");
            return null;
        }

        return full;
    }

    private static string CapabilityName(string name)
    {
        string upper = name.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }

    private static ScheduleOptions ReadSchedule(ConfigurationReader reader)
    {
        const string Section = ScheduleOptions.SectionName;
        var defaults = new ScheduleOptions();
        reader.RejectUnknownKeys(Section, _scheduleKeys);
        var schedule = new ScheduleOptions
        {
            PollInterval = reader.Duration($"{Section}:PollInterval", defaults.PollInterval, t => t >= TimeSpan.FromSeconds(5),
                Matrix.Duration.Expected + ", at least 5s (remotes should not be polled harder)"),
            NightlySkipUnchanged = reader.Bool($"{Section}:NightlySkipUnchanged", defaults.NightlySkipUnchanged),
        };

        string jitterKey = $"{Section}:PollJitter";
        schedule.PollJitter = reader.Duration(jitterKey, defaults.PollJitter, t => t >= TimeSpan.Zero,
            Matrix.Duration.Expected + ", 0s or longer");
        if (!reader.IsReported(jitterKey) && !reader.IsReported($"{Section}:PollInterval") && schedule.PollJitter > schedule.PollInterval)
        {
            reader.Error(jitterKey, reader.String(jitterKey, null, _ => true, ""), $"a duration no longer than Schedule:PollInterval ({schedule.PollInterval})");
        }

        string nightlyBranchesKey = $"{Section}:NightlyBranches";
        List<string>? nightlyBranches = reader.StringList(nightlyBranchesKey, "a JSON array of branch patterns like [\"stable/*\"]",
            p => BranchPattern.TryParse(p, out _), "a branch name or pattern with * (like stable/*)");
        if (nightlyBranches is { Count: 0 } && !reader.IsReported(nightlyBranchesKey))
        {
            reader.Error(nightlyBranchesKey, "[]", "at least one branch pattern, like [\"stable/*\"]");
        }

        schedule.NightlyBranches = nightlyBranches ?? defaults.NightlyBranches;

        string cronKey = $"{Section}:NightlyCron";
        string cron = reader.String(cronKey, defaults.NightlyCron, _ => true, "a Quartz cron expression")!;
        if (!reader.IsReported(cronKey) && CronProblem(cron) is { } problem)
        {
            reader.Error(cronKey, cron, $"a Quartz cron expression with seconds first, like 0 0 2 * * ? for 02:00 every day ({problem})");
        }

        schedule.NightlyCron = cron;
        return schedule;
    }

    private static RetentionOptions ReadRetention(ConfigurationReader reader)
    {
        const string Section = RetentionOptions.SectionName;
        var defaults = new RetentionOptions();
        reader.RejectUnknownKeys(Section, _retentionKeys);
        string cronKey = $"{Section}:Cron";
        string cron = reader.String(cronKey, defaults.Cron, _ => true, "a Quartz cron expression")!;
        if (!reader.IsReported(cronKey) && CronProblem(cron) is { } problem)
        {
            reader.Error(cronKey, cron, $"a Quartz cron expression with seconds first, like 0 30 3 * * ? for 03:30 every day ({problem})");
        }

        return new RetentionOptions
        {
            Enabled = reader.Bool($"{Section}:Enabled", defaults.Enabled),
            MaxAge = reader.Duration($"{Section}:MaxAge", defaults.MaxAge, t => t >= TimeSpan.FromHours(1),
                Matrix.Duration.Expected + ", at least 1h"),
            Cron = cron,
        };
    }

    private static HttpOptions ReadHttp(ConfigurationReader reader, string baseDirectory)
    {
        const string Section = HttpOptions.SectionName;
        var defaults = new HttpOptions();
        reader.RejectUnknownKeys(Section, _httpKeys);
        var http = new HttpOptions
        {
            Listen = reader.String($"{Section}:Listen", defaults.Listen, IsListenUrl, "an http:// or https:// URL with a host and port, like http://127.0.0.1:8080")!,
            ApiTokenVariable = reader.String($"{Section}:ApiTokenVariable", defaults.ApiTokenVariable, EnvironmentVariableName().IsMatch, EnvironmentVariableExpected)!,
            ApiTokenFile = ReadSecretFile(reader, $"{Section}:ApiTokenFile", $"{Section}:ApiTokenVariable", baseDirectory, "the API token"),
            ProtectReads = reader.Bool($"{Section}:ProtectReads", defaults.ProtectReads),
        };
        http.PublicUrl = ReadPublicUrl(reader, $"{Section}:PublicUrl", http.Listen);
        return http;
    }

    /// <summary>
    /// A secret file's key: relative to the configuration file's folder, exclusive with its variable key, and the file
    /// itself must be safe (<see cref="SecretValues.CheckFile"/>). Null when unset or wrong.
    /// </summary>
    private static string? ReadSecretFile(ConfigurationReader reader, string fileKey, string variableKey, string baseDirectory, string what)
    {
        string? file = reader.String(fileKey, null, IsPath, $"the path of a file holding {what}, readable only by the service's user");
        if (file is null)
        {
            return null;
        }

        if (reader.IsPresent(variableKey))
        {
            reader.Error(fileKey, file, $"either {variableKey} or {fileKey}, not both: remove one of them");
            return null;
        }

        string full = Path.GetFullPath(Path.Combine(baseDirectory, file));
        if (SecretValues.CheckFile(full) is { } problem)
        {
            reader.Error(fileKey, file, problem);
            return null;
        }

        return full;
    }

    private static List<TrackedModule> ReadModules(ConfigurationReader reader, string baseDirectory)
    {
        const string Section = ModuleOptions.SectionName;
        var modules = new List<TrackedModule>();
        const string ListExpected = "a JSON array of modules, each with Name, Url and Branches";
        if (!reader.IsPresent(Section))
        {
            reader.Error(Section, null, ListExpected);
            return modules;
        }

        List<IConfigurationSection> entries = reader.Entries(Section, ListExpected);
        if (entries.Count == 0 && !reader.IsReported(Section))
        {
            reader.Error(Section, "[]", "at least one module: " + ListExpected);
        }

        var firstIndex = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IConfigurationSection entry in entries)
        {
            string key = entry.Path;
            if (!reader.RejectUnknownKeys(key, _moduleKeys))
            {
                continue;
            }

            string? name = reader.String($"{key}:Name", null, ModuleName().IsMatch,
                "the module's short Puppet name, like keystone (lower-case letters, digits and _)", required: true);
            if (name is not null && !firstIndex.TryAdd(name, key))
            {
                reader.Error($"{key}:Name", name, $"a module name not used before (already used by {firstIndex[name]})");
            }

            string? url = reader.String($"{key}:Url", null, IsGitUrl,
                "a git URL (https://, http://, ssh://, git://, file://, user@host:path) or an existing local repository path", required: true);
            if (url is not null && IsLocalPath(url))
            {
                string full = Path.GetFullPath(Path.Combine(baseDirectory, url));
                if (Directory.Exists(full))
                {
                    url = full;
                }
                else
                {
                    reader.Error($"{key}:Url", url, $"a git URL or an existing local repository path ({full} does not exist)");
                    url = null;
                }
            }

            List<string>? patterns = reader.StringList($"{key}:Branches", "a JSON array of branch patterns like [\"master\", \"stable/*\"]",
                p => BranchPattern.TryParse(p, out _), "a branch name or pattern with * (like stable/*)");
            var branches = (patterns ?? new ModuleOptions().Branches).Select(BranchPattern.Parse).ToList();
            if (patterns is { Count: 0 } && !reader.IsReported($"{key}:Branches"))
            {
                reader.Error($"{key}:Branches", "[]", "at least one branch pattern, like [\"master\", \"stable/*\"]");
            }

            AddDuplicateErrors(reader, $"{key}:Branches", patterns, "each branch pattern once");
            ModuleCredentials? credentials = ReadCredentials(reader, $"{key}:Credentials", baseDirectory);
            bool changeRefs = reader.Bool($"{key}:ChangeRefs", false);
            if (name is not null && url is not null)
            {
                modules.Add(new TrackedModule(name, url, branches, credentials, changeRefs));
            }
        }

        return modules;
    }

    private static ModuleCredentials? ReadCredentials(ConfigurationReader reader, string key, string baseDirectory)
    {
        if (!reader.IsPresent(key))
        {
            return null;
        }

        if (!reader.RejectUnknownKeys(key, _credentialKeys))
        {
            return null;
        }

        SecretReference? username = ReadCredential(reader, key, "Username", "the user name", baseDirectory);
        SecretReference? password = ReadCredential(reader, key, "Password", "the password or access token", baseDirectory);
        return username is null || password is null ? null : new ModuleCredentials(username, password);
    }

    /// <summary>One part of a login: <c>{part}Variable</c> (an environment variable's name) or <c>{part}File</c> (a file only the service's user can read).</summary>
    private static SecretReference? ReadCredential(ConfigurationReader reader, string key, string part, string what, string baseDirectory)
    {
        string variableKey = $"{key}:{part}Variable";
        string fileKey = $"{key}:{part}File";
        if (reader.IsPresent(fileKey))
        {
            return ReadSecretFile(reader, fileKey, variableKey, baseDirectory, what) is { } file ? SecretReference.FromFile(file, fileKey) : null;
        }

        string? variable = reader.String(variableKey, null, EnvironmentVariableName().IsMatch,
            $"{EnvironmentVariableExpected} that holds {what} (or {part}File: a file holding it, readable only by the service's user)", required: true);
        return variable is null ? null : SecretReference.FromVariable(variable, variableKey);
    }

    /// <summary>Reads each release; an entry with errors is null so that indexes stay aligned with the keys.</summary>
    private static List<ReleaseOptions?> ReadReleases(ConfigurationReader reader)
    {
        const string Section = ReleaseOptions.SectionName;
        const string ListExpected = "a JSON array of releases in upgrade order, oldest first, each with Name, Branches and Image";
        var releases = new List<ReleaseOptions?>();
        if (!reader.IsPresent(Section))
        {
            reader.Error(Section, null, ListExpected);
            return releases;
        }

        List<IConfigurationSection> entries = reader.Entries(Section, ListExpected);
        if (entries.Count == 0 && !reader.IsReported(Section))
        {
            reader.Error(Section, "[]", "at least one release: " + ListExpected);
        }

        var firstIndex = new Dictionary<string, string>(StringComparer.Ordinal);
        string? developmentKey = null;
        (int Year, int Number, string Name)? newestNumbered = null;
        foreach (IConfigurationSection entry in entries)
        {
            string key = entry.Path;
            int errorsBefore = reader.Errors.Count;
            if (!reader.RejectUnknownKeys(key, _releaseKeys))
            {
                releases.Add(null);
                continue;
            }

            string? name = reader.String($"{key}:Name", null, ReleaseName().IsMatch,
                "an OpenStack release name: a series name like zed, or a number like 2024.1", required: true);
            if (name is not null)
            {
                newestNumbered = CheckReleaseOrder(reader, $"{key}:Name", name, newestNumbered);
                if (!firstIndex.TryAdd(name, key))
                {
                    reader.Error($"{key}:Name", name, $"a release name not used before (already used by {firstIndex[name]})");
                }
            }

            List<string>? branches = reader.StringList($"{key}:Branches",
                "a JSON array of branch or tag candidates in order of preference, like [\"stable/2023.1\", \"unmaintained/2023.1\", \"2023.1-eol\"]",
                b => GitRefName.IsValid(b), "a git branch or tag name (no wildcards)");
            if (branches is null && !reader.IsReported($"{key}:Branches"))
            {
                reader.Error($"{key}:Branches", null, "a JSON array of branch or tag candidates, like [\"stable/2024.1\"] (or [\"master\"] for the development release)");
            }
            else if (branches is { Count: 0 })
            {
                reader.Error($"{key}:Branches", "[]", "at least one branch or tag candidate");
            }

            AddDuplicateErrors(reader, $"{key}:Branches", branches, "each candidate once");
            if (branches?.Contains("master", StringComparer.Ordinal) == true)
            {
                if (developmentKey is not null)
                {
                    reader.Error($"{key}:Branches", "master", $"at most one development release (mapped to master); {developmentKey} already is");
                }

                developmentKey ??= key;
            }
            else if (developmentKey is not null && name is not null)
            {
                reader.Error($"{key}:Name", name, $"the development release ({developmentKey}, mapped to master) last, since it is the newest");
            }

            string? image = reader.String($"{key}:Image", null, ImageReference().IsMatch,
                "a container image reference like cirunner/release:2024.1", required: true);
            string? puppetfile = reader.String($"{key}:Puppetfile", null, v => v.Trim().Length > 0 && IsPath(v),
                "a Puppetfile path relative to the scenarios directory (default puppetfiles/<release>.Puppetfile)");
            bool? slurp = reader.NullableBool($"{key}:Slurp");
            List<string>? prepare = reader.StringList($"{key}:UpgradePrepareCommand",
                "an argument array like [\"/usr/local/bin/switch-repos\", \"2024.1\"]", a => a.Length > 0, "a non-empty argument");
            string suite = reader.String($"{key}:Suite", "bookworm", DebianSuite().IsMatch,
                "a Debian suite its base image is made of, like bookworm or trixie (cirunner images base --suite <suite>)")!;
            InitSystem? init = ReadInitSystem(reader, $"{key}:Init");
            bool packageSnapshot = reader.Bool($"{key}:PackageSnapshot", false);

            if (reader.Errors.Count > errorsBefore || name is null || branches is null || image is null)
            {
                releases.Add(null);
                continue;
            }

            releases.Add(new ReleaseOptions
            {
                Name = name,
                Branches = branches,
                Image = image,
                Puppetfile = puppetfile,
                Slurp = slurp,
                UpgradePrepareCommand = prepare ?? [],
                Suite = suite,
                Init = init ?? InitSystem.None,
                PackageSnapshot = packageSnapshot,
            });
        }

        return releases;
    }

    /// <summary>An <see cref="InitSystem"/> by its lower-case name (<c>none</c>, <c>systemd</c>); null when absent or reported.</summary>
    internal static InitSystem? ReadInitSystem(ConfigurationReader reader, string key)
    {
        string? text = reader.String(key, null, v => ParseInitSystem(v) is not null,
            "none (the step script is PID 1) or systemd (the container boots systemd, as a node does)");
        return text is null ? null : ParseInitSystem(text);
    }

    /// <summary>Parses <c>none</c> or <c>systemd</c>.</summary>
    public static InitSystem? ParseInitSystem(string text) => text switch
    {
        "none" => InitSystem.None,
        "systemd" => InitSystem.Systemd,
        _ => null,
    };

    /// <summary>Numbered releases (YYYY.N) ascend; series names (zed and older) come before all of them.</summary>
    private static (int Year, int Number, string Name)? CheckReleaseOrder(ConfigurationReader reader, string key, string name, (int Year, int Number, string Name)? newest)
    {
        Match numbered = NumberedRelease().Match(name);
        if (!numbered.Success)
        {
            if (newest is { } n)
            {
                reader.Error(key, name, $"series-named releases (like zed) before the numbered ones; list releases oldest first ({name} is after {n.Name})");
            }

            return newest;
        }

        int year = int.Parse(numbered.Groups["year"].Value, CultureInfo.InvariantCulture);
        int number = int.Parse(numbered.Groups["number"].Value, CultureInfo.InvariantCulture);
        if (year < 2023 || year > 2100 || number is < 1 or > 2)
        {
            reader.Error(key, name, "a numbered release YYYY.1 or YYYY.2 from 2023.1 on (OpenStack has released twice a year since 2023.1)");
            return newest;
        }

        if (newest is { } previous && (year, number).CompareTo((previous.Year, previous.Number)) <= 0)
        {
            reader.Error(key, name, $"releases in upgrade order, oldest first ({name} is listed after {previous.Name})");
            return newest;
        }

        return (year, number, name);
    }

    /// <summary>Parses each valid release's Puppetfile and builds the releases; false when any of them failed.</summary>
    private static bool LoadPuppetfiles(ConfigurationReader reader, List<ReleaseOptions?> options, string scenariosDirectory, List<Release> releases, List<ConfigurationError> fileErrors)
    {
        bool allLoaded = true;
        for (int i = 0; i < options.Count; i++)
        {
            ReleaseOptions? release = options[i];
            if (release is null)
            {
                continue;
            }

            string relative = release.Puppetfile ?? $"puppetfiles/{release.Name}.Puppetfile";
            string full = Path.GetFullPath(Path.Combine(scenariosDirectory, relative));
            if (!File.Exists(full))
            {
                reader.Error($"{ReleaseOptions.SectionName}:{i}:Puppetfile", relative,
                    $"an r10k Puppetfile relative to the scenarios directory (default puppetfiles/<release>.Puppetfile); {full} does not exist");
                allLoaded = false;
                continue;
            }

            PuppetfileParseResult parsed = PuppetfileParser.ParseFile(full);
            if (!parsed.Succeeded)
            {
                fileErrors.AddRange(parsed.Errors);
                allLoaded = false;
                continue;
            }

            bool slurp = release.Slurp ?? NumberedRelease().Match(release.Name) is { Success: true } m && m.Groups["number"].Value == "1";
            releases.Add(new Release(release.Name, releases.Count, release.Branches, release.Image, slurp, parsed.Puppetfile, release.UpgradePrepareCommand)
            {
                Suite = release.Suite,
                Init = release.Init,
                PackageSnapshot = release.PackageSnapshot,
            });
        }

        return allLoaded;
    }

    private static void AddDuplicateErrors(ConfigurationReader reader, string key, List<string>? items, string expected)
    {
        if (items is null)
        {
            return;
        }

        foreach (string duplicate in items.GroupBy(i => i, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            reader.Error(key, duplicate, expected);
        }
    }

    private static string? CronProblem(string cron)
    {
        if (CronExpression.TryParse(cron, out _))
        {
            return null;
        }

        try
        {
            CronExpression.Parse(cron);
            return "not accepted by Quartz";
        }
        catch (FormatException e)
        {
            return e.Message.TrimEnd('.');
        }
    }

    private static bool IsPath(string value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return false;
        }

        try
        {
            _ = Path.GetFullPath(value);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return false;
        }
    }

    private static bool IsDockerEndpoint(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri))
        {
            return false;
        }

        return uri.Scheme switch
        {
            "unix" => uri.AbsolutePath.Length > 1,
            "tcp" => uri.Host.Length > 0 && uri.Port > 0 && uri.AbsolutePath is "/" or "",
            "npipe" => uri.AbsolutePath.Length > 1,
            _ => false,
        };
    }

    private static bool IsListenUrl(string value)
    {
        // Kestrel's "any address" hosts are not valid URI hosts; check the rest of the URL with a stand-in.
        string candidate = value.Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal);
        return Uri.TryCreate(candidate, UriKind.Absolute, out Uri? uri)
            && uri.Scheme is "http" or "https"
            && uri.Host.Length > 0
            && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            && uri.UserInfo.Length == 0;
    }

    private static bool IsLocalPath(string url) => !url.Contains("://", StringComparison.Ordinal) && !ScpLikeUrl().IsMatch(url);

    private static bool IsGitUrl(string value)
    {
        if (value.Any(char.IsWhiteSpace) || value.Length == 0)
        {
            return false;
        }

        if (IsLocalPath(value))
        {
            return IsPath(value);
        }

        if (ScpLikeUrl().IsMatch(value))
        {
            return true;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out Uri? uri)
            && uri.Scheme is "https" or "http" or "ssh" or "git" or "file"
            && (uri.Scheme == "file" || uri.Host.Length > 0);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex InstanceId();

    [GeneratedRegex("^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ModuleName();

    [GeneratedRegex("^(?:[a-z][a-z0-9-]*|[0-9]{4}\\.[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReleaseName();

    [GeneratedRegex("^(?<year>[0-9]{4})\\.(?<number>[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberedRelease();

    // Debian's suite and code names: bookworm, trixie, sid, stable, testing.
    [GeneratedRegex("^[a-z][a-z0-9-]{1,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex DebianSuite();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentVariableName();

    // scp-like git remotes: user@host:path (the user part keeps Windows drive paths like C:\x out).
    [GeneratedRegex(@"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:.+$", RegexOptions.CultureInvariant)]
    private static partial Regex ScpLikeUrl();

    // The reference grammar of the distribution spec, without digests' algorithm variety: [host[:port]/]path[:tag][@sha256:hex].
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageReference();
}
