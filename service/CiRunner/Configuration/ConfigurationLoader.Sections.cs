using System.Globalization;
using System.Text.RegularExpressions;
using CiRunner.Matrix;
using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

// One method per section: what each key may hold, and what the error says when it does not.
public static partial class ConfigurationLoader
{
    private static readonly string[] _moduleKeys = OptionsBinder.KeysOf<ModuleOptions>();
    private static readonly string[] _credentialKeys = OptionsBinder.KeysOf<ModuleCredentialsOptions>();
    private static readonly string[] _releaseKeys = OptionsBinder.KeysOf<ReleaseOptions>();

    /// <summary>
    /// Binds and validates a section whose rules are on its options class, then runs <paramref name="check"/> (what
    /// needs the file system); unknown keys are reported first. Absent, the section is the defaults; a plain value
    /// instead of an object is reported, and is the defaults too.
    /// </summary>
    private static T ReadSection<T>(ConfigurationReader reader, string section, IValidateOptions<T> validator, Action<T>? check = null)
        where T : class, new() => TryReadSection(reader, section, validator, check) ?? new T();

    /// <summary>As <see cref="ReadSection"/>, but null when the section is a plain value rather than an object.</summary>
    private static T? TryReadSection<T>(ConfigurationReader reader, string section, IValidateOptions<T> validator, Action<T>? check = null)
        where T : class, new() =>
        reader.RejectUnknownKeys(section, OptionsBinder.KeysOf<T>()) ? OptionsBinder.Bind(reader, section, validator, check) : null;

    private static ServiceOptions ReadService(ConfigurationReader reader, string baseDirectory) =>
        ReadSection(reader, ServiceOptions.SectionName, new ServiceOptionsValidator(), service =>
        {
            string scenariosKey = $"{ServiceOptions.SectionName}:{nameof(ServiceOptions.ScenariosDirectory)}";
            string scenariosFull = Path.GetFullPath(Path.Combine(baseDirectory, service.ScenariosDirectory));
            if (!reader.IsReported(scenariosKey) && !Directory.Exists(scenariosFull))
            {
                reader.Error(scenariosKey, service.ScenariosDirectory, $"an existing directory of scenario files ({scenariosFull} does not exist)");
            }

            // Not required to exist: without recipes a missing image fails its job with the command that builds it.
            service.DataDirectory = Path.GetFullPath(Path.Combine(baseDirectory, service.DataDirectory));
            service.ScenariosDirectory = scenariosFull;
            service.ImageRecipesDirectory = Path.GetFullPath(Path.Combine(baseDirectory, service.ImageRecipesDirectory));
        });

    private static DockerOptions ReadDocker(ConfigurationReader reader, string baseDirectory) =>
        ReadSection(reader, DockerOptions.SectionName, new DockerOptionsValidator(), docker =>
        {
            docker.DropCapabilities = [.. docker.DropCapabilities.Select(OptionValues.CapabilityName).Distinct(StringComparer.Ordinal)];
            docker.TlsCertDirectory = CheckTlsCertDirectory(reader, $"{DockerOptions.SectionName}:{nameof(DockerOptions.TlsCertDirectory)}", docker.TlsCertDirectory, docker.Endpoint, baseDirectory);
        });

    /// <summary>The TLS certificate directory, made absolute, once its three files exist and load; null when not configured or wrong.</summary>
    private static string? CheckTlsCertDirectory(ConfigurationReader reader, string key, string? directory, string endpoint, string baseDirectory)
    {
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

    private static HttpOptions ReadHttp(ConfigurationReader reader, string baseDirectory) =>
        ReadSection(reader, HttpOptions.SectionName, new HttpOptionsValidator(), http =>
        {
            const string Section = HttpOptions.SectionName;
            http.ApiTokenFile = CheckSecretFile(reader, $"{Section}:ApiTokenFile", http.ApiTokenFile, $"{Section}:ApiTokenVariable", baseDirectory);
            http.PublicUrl = http.PublicUrl?.TrimEnd('/') ?? DerivePublicUrl(http.Listen);
        });

    /// <summary>
    /// A secret file's key: relative to the configuration file's folder, exclusive with its variable key, and the file
    /// itself must be safe (<see cref="SecretValues.CheckFile"/>). Null when unset or wrong.
    /// </summary>
    private static string? ReadSecretFile(ConfigurationReader reader, string fileKey, string variableKey, string baseDirectory, string what)
    {
        string? file = reader.String(fileKey, null, OptionValues.IsPath, $"the path of a file holding {what}, readable only by the service's user");
        return CheckSecretFile(reader, fileKey, file, variableKey, baseDirectory);
    }

    /// <summary>A secret file as read from <paramref name="fileKey"/>, checked as <see cref="ReadSecretFile"/> says; null when unset or wrong.</summary>
    private static string? CheckSecretFile(ConfigurationReader reader, string fileKey, string? file, string variableKey, string baseDirectory)
    {
        if (file is null || reader.IsReported(fileKey))
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

        string? variable = reader.String(variableKey, null, OptionValues.IsEnvironmentVariableName,
            $"{OptionValues.EnvironmentVariableExpected} that holds {what} (or {part}File: a file holding it, readable only by the service's user)", required: true);
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
            string? puppetfile = reader.String($"{key}:Puppetfile", null, v => v.Trim().Length > 0 && OptionValues.IsPath(v),
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

    private static bool IsLocalPath(string url) => !url.Contains("://", StringComparison.Ordinal) && !ScpLikeUrl().IsMatch(url);

    private static bool IsGitUrl(string value)
    {
        if (value.Any(char.IsWhiteSpace) || value.Length == 0)
        {
            return false;
        }

        if (IsLocalPath(value))
        {
            return OptionValues.IsPath(value);
        }

        if (ScpLikeUrl().IsMatch(value))
        {
            return true;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out Uri? uri)
            && uri.Scheme is "https" or "http" or "ssh" or "git" or "file"
            && (uri.Scheme == "file" || uri.Host.Length > 0);
    }

    [GeneratedRegex("^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ModuleName();

    [GeneratedRegex("^(?:[a-z][a-z0-9-]*|[0-9]{4}\\.[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReleaseName();

    [GeneratedRegex("^(?<year>[0-9]{4})\\.(?<number>[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberedRelease();

    // Debian's suite and code names: bookworm, trixie, sid, stable, testing.
    [GeneratedRegex("^[a-z][a-z0-9-]{1,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex DebianSuite();

    // scp-like git remotes: user@host:path (the user part keeps Windows drive paths like C:\x out).
    [GeneratedRegex(@"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:.+$", RegexOptions.CultureInvariant)]
    private static partial Regex ScpLikeUrl();

    // The reference grammar of the distribution spec, without digests' algorithm variety: [host[:port]/]path[:tag][@sha256:hex].
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageReference();
}
