using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CiRunner.Execution;

/// <summary>
/// How a package snapshot is made and named: the build script and the node-side upgrade script (embedded from
/// <c>Execution/Snapshot/</c>), the snapshot's id and its volume's name. Pure: no engine.
/// </summary>
public static partial class PackageSnapshotRecipe
{
    /// <summary>Where the volume is mounted in the build's throwaway container.</summary>
    public const string BuildMountPath = "/snapshot";

    /// <summary>Where the build script and its inputs are copied in the throwaway containers.</summary>
    public const string BuildFolder = "/cirunner-build";

    /// <summary>The file in a snapshot whose presence says its build finished (<c>id=</c>, <c>packages=</c>, <c>bytes=</c> lines).</summary>
    public const string CompleteMarker = ".complete";

    /// <summary>The prefix of the one line a failing build script ends with.</summary>
    public const string ErrorPrefix = "cirunner-snapshot: error: ";

    public const string BuildScriptName = "build-snapshot.sh";

    public const string UpgradeScriptName = "upgrade-node";

    public const string PackageListName = "packages.list";

    /// <summary>The script the throwaway containers run: <c>list</c> prints the installed packages, no argument builds.</summary>
    public static byte[] BuildScript { get; } = Load(BuildScriptName);

    /// <summary>The script every snapshot carries that moves a node onto it (<see cref="PackageSnapshotSource.UpgradeScript"/>).</summary>
    public static byte[] UpgradeScript { get; } = Load(UpgradeScriptName);

    /// <summary>
    /// SHA-256 of both scripts: the <see cref="ContainerLabels.RecipeHash"/> label of every snapshot volume. A changed
    /// build script gives new volumes, so a fix to how snapshots are made reaches every release at its next build.
    /// </summary>
    public static string Hash { get; } = ComputeHash();

    /// <summary>
    /// The snapshot's id: <c>sha256:</c> and the hex SHA-256 of the package list (name=version lines, sorted, each
    /// ending in a newline) followed by the upgrade script, so <c>cat packages.list upgrade-node | sha256sum</c> in a
    /// snapshot gives it. Equal package lists with the same upgrade script are the same snapshot.
    /// </summary>
    public static string ComputeId(string packageList)
    {
        ArgumentNullException.ThrowIfNull(packageList);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(packageList));
        hash.AppendData(UpgradeScript);
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// The package list as the build script prints it, normalised: one name=version per line, each ending in a
    /// newline. Null when it is empty or a line is not name=version (the image has no dpkg, or the script broke).
    /// </summary>
    public static string? NormalizePackageList(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || !lines.All(PackageLine().IsMatch))
        {
            return null;
        }

        return string.Concat(lines.Select(l => l + "\n"));
    }

    /// <summary>
    /// The volume of the snapshot of <paramref name="imageId"/> with <paramref name="snapshotId"/>:
    /// <c>cirunner-snapshot-&lt;release&gt;-&lt;12 hex&gt;</c>, the hex from the image id, the snapshot id and
    /// <see cref="Hash"/>. Deterministic, so a second build finds the first's volume; different for a rebuilt image
    /// even when its packages did not change, since each snapshot belongs to one image.
    /// </summary>
    public static string VolumeName(string release, string imageId, string snapshotId)
    {
        ArgumentException.ThrowIfNullOrEmpty(release);
        string text = $"image {imageId}\nsnapshot {snapshotId}\nrecipe {Hash}\n";
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
        return $"cirunner-snapshot-{NotInVolumeNames().Replace(release, "-")}-{hash}";
    }

    /// <summary>The snapshot's id, package count and size as its <see cref="CompleteMarker"/> file says; null when it does not parse.</summary>
    public static (string Id, int Packages, long Bytes)? ParseCompleteMarker(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var values = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => pair[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);
        return values.TryGetValue("id", out string? id) && id.StartsWith("sha256:", StringComparison.Ordinal)
            && values.TryGetValue("packages", out string? packages) && int.TryParse(packages, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count)
            && values.TryGetValue("bytes", out string? bytes) && long.TryParse(bytes, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long size)
            ? (id, count, size)
            : null;
    }

    private static byte[] Load(string name)
    {
        using Stream stream = typeof(PackageSnapshotRecipe).Assembly.GetManifestResourceStream($"CiRunner.Execution.Snapshot.{name}")
            ?? throw new InvalidOperationException($"The package snapshot script {name} is not embedded (Execution/Snapshot/{name}).");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static string ComputeHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string name, byte[] content) in (ReadOnlySpan<(string, byte[])>)[(BuildScriptName, BuildScript), (UpgradeScriptName, UpgradeScript)])
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"file {name}\n{content.Length}\n"));
            hash.AppendData(content);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    // A Debian package name (with an optional :arch) and a version.
    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?=[A-Za-z0-9.+~:-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PackageLine();

    [GeneratedRegex("[^A-Za-z0-9_.-]", RegexOptions.CultureInvariant)]
    private static partial Regex NotInVolumeNames();
}
