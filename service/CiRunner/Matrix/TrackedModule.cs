namespace CiRunner.Matrix;

/// <summary>A module's git repository as configured, with the branch patterns CiRunner follows.</summary>
/// <param name="Name">Short name (<c>keystone</c>), the same name Puppetfiles and scenario files use.</param>
/// <param name="Url">Git URL, or an absolute local path for repositories on this machine.</param>
/// <param name="Branches">Tracked branch patterns, in configured order.</param>
/// <param name="Credentials">Names of the environment variables with an https login; null when none is needed.</param>
/// <param name="ChangeRefs">Whether Gerrit patch-set refs (<c>refs/changes/*</c>) are fetched and tested too.</param>
public sealed record TrackedModule(
    string Name,
    string Url,
    IReadOnlyList<BranchPattern> Branches,
    ModuleCredentials? Credentials,
    bool ChangeRefs = false)
{
    public bool Tracks(string branch) => Branches.Any(p => p.IsMatch(branch));

    /// <summary>
    /// The branch this module is tested on for <paramref name="release"/>: the release's first branch candidate
    /// that the module tracks, or null when it tracks none of them (an EOL-tag-only release, for example).
    /// </summary>
    public string? BranchFor(Release release) => release.BranchCandidates.FirstOrDefault(Tracks);
}

/// <summary>
/// Where an https login comes from (environment variables or files readable only by the service's user). Only the
/// names and paths are configured, so secrets never reach files, logs or the database; the values are read when a
/// remote is contacted (<c>Configuration.SecretValues</c> reads them).
/// </summary>
public sealed record ModuleCredentials(SecretReference Username, SecretReference Password)
{
    /// <summary>A login from two environment variables.</summary>
    public ModuleCredentials(string usernameVariable, string passwordVariable)
        : this(SecretReference.FromVariable(usernameVariable), SecretReference.FromVariable(passwordVariable))
    {
    }
}
