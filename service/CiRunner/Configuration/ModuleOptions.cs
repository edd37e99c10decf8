namespace CiRunner.Configuration;

/// <summary>
/// One entry of the <c>Modules</c> list: a Puppet module's git repository and the branches to track.
/// Holds the defaults and documents the keys; <see cref="ConfigurationLoader"/> turns entries into
/// <see cref="Matrix.TrackedModule"/> records.
/// </summary>
public sealed class ModuleOptions
{
    public const string SectionName = "Modules";

    /// <summary>Short name as Puppet knows it (<c>keystone</c>), also the name in Puppetfiles and scenario files.</summary>
    public string Name { get; set; } = "";

    /// <summary>Git URL (https, ssh, file://) or a local path to a repository.</summary>
    public string Url { get; set; } = "";

    /// <summary>Branch patterns to track (<c>master</c>, <c>stable/*</c>); <c>*</c> matches any run of characters, <c>/</c> included.</summary>
    public List<string> Branches { get; set; } = ["master", "stable/*"];

    /// <summary>For https remotes that need a login: names of the environment variables that hold it, never the values.</summary>
    public ModuleCredentialsOptions? Credentials { get; set; }

    /// <summary>Also fetch Gerrit patch-set refs (<c>refs/changes/*</c>) and start a run for each new patch set.</summary>
    public bool ChangeRefs { get; set; }
}

/// <summary>
/// Where an https login comes from: for each of the user name and the password, an environment variable's name or a
/// file readable only by the service's user. The values never enter the configuration, logs or the database.
/// </summary>
public sealed class ModuleCredentialsOptions
{
    public string UsernameVariable { get; set; } = "";

    public string UsernameFile { get; set; } = "";

    public string PasswordVariable { get; set; } = "";

    public string PasswordFile { get; set; } = "";
}
