using System.Text.RegularExpressions;

namespace CiRunner.Execution;

/// <summary>
/// Spots, in a Puppet run's output, a package that apt could not install. Job containers are offline, so Puppet's
/// <c>package</c> resources can only find what the release image already has: such a failure says the image lacks a
/// package the catalog needs (or the module asks for one Debian does not have), not that the module under test is
/// wrong. The executor then ends the job as an <see cref="JobResult.Error"/> quoting apt, instead of a test failure.
/// </summary>
public sealed partial class PackageInstallFailure
{
    private string? _pendingCommand;

    /// <summary>The packages of the first apt install that failed; empty while none did.</summary>
    public IReadOnlyList<string> Packages { get; private set; } = [];

    /// <summary>apt's own error line for it (<c>E: Unable to locate package ...</c>); null until seen.</summary>
    public string? AptMessage { get; private set; }

    /// <summary>The Puppet resource that asked for it (<c>Package[python-pymemcache]</c>) and the class path above it; null until seen.</summary>
    public string? Resource { get; private set; }

    public bool Found => Packages.Count > 0;

    /// <summary>Reads one output line of the step (stdout or stderr, without the log's prefix).</summary>
    public void Observe(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (Found && AptMessage is not null && Resource is not null)
        {
            return;
        }

        Match execution = AptInstall().Match(line);
        if (execution.Success && !Found)
        {
            Packages = execution.Groups["packages"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Where(p => !p.StartsWith('-'))
                .ToList();
            _pendingCommand = execution.Value;
            return;
        }

        if (Found && AptMessage is null && line.StartsWith("E: ", StringComparison.Ordinal))
        {
            AptMessage = line.Trim();
            return;
        }

        Match resource = FailedPackage().Match(line);
        if (resource.Success && Resource is null && _pendingCommand is not null && line.Contains(_pendingCommand, StringComparison.Ordinal))
        {
            Resource = resource.Groups["path"].Value;
        }
    }

    /// <summary>The error summary for a job in <paramref name="image"/> of <paramref name="release"/>; null when nothing was found.</summary>
    public string? Describe(string image, string? release)
    {
        if (!Found)
        {
            return null;
        }

        string packages = string.Join(", ", Packages);
        string asked = Resource is null ? "" : $" ({Resource})";
        string apt = AptMessage is null ? "" : $": apt said \"{AptMessage}\"";
        string recipe = release is null ? "the image's recipe" : $"deploy/images/{release}/Dockerfile (or the EXTRA_PACKAGES build argument)";
        return $"the catalog installs {packages}{asked}, which image {image} does not have and cannot fetch offline{apt}. " +
            $"Add it to {recipe} and rebuild the image; if Debian has no such package, the module asks for one that does not exist";
    }

    // Puppet's apt provider: Execution of '/usr/bin/apt-get -q -y -o DPkg::Options::=--force-confold install pkg' returned 100: ...
    [GeneratedRegex(@"Execution of '/usr/bin/apt-get [^']*?\binstall (?<packages>[^']+)' returned [1-9][0-9]*", RegexOptions.CultureInvariant)]
    private static partial Regex AptInstall();

    // Error: /Stage[main]/Keystone::Cache/Oslo::Cache[keystone_config]/Package[python-pymemcache]/ensure: change from 'purged' to 'present' failed: Execution of ...
    [GeneratedRegex(@"^Error: /Stage\[main\]/(?<path>.*Package\[[^\]]+\])/ensure: change from .* failed: ", RegexOptions.CultureInvariant)]
    private static partial Regex FailedPackage();
}
