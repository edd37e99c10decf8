using System.Text.RegularExpressions;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

// The Modules list: each tracked module's name, remote, branch patterns and login.
public static partial class ConfigurationLoader
{
    private static readonly string[] _moduleKeys = OptionsBinder.KeysOf<ModuleOptions>();
    private static readonly string[] _credentialKeys = OptionsBinder.KeysOf<ModuleCredentialsOptions>();

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

    // scp-like git remotes: user@host:path (the user part keeps Windows drive paths like C:\x out).
    [GeneratedRegex(@"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:.+$", RegexOptions.CultureInvariant)]
    private static partial Regex ScpLikeUrl();
}
