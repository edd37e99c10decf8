using System.Globalization;
using System.Runtime.InteropServices;

namespace CiRunner.Model;

/// <summary>
/// Where a secret (the API token, a git password) comes from: an environment variable whose name is configured, or a
/// file that only the service's user can read. The configuration only ever holds the name or the path; the value is
/// read when it is needed and never written to logs, API answers or the database. Every place that reads a secret
/// goes through this type (reporters included), so each accepts both forms and checks files the same way.
/// </summary>
/// <param name="Variable">The environment variable's name; null when the secret comes from <paramref name="File"/>.</param>
/// <param name="File">The file's absolute path; null when the secret comes from <paramref name="Variable"/>.</param>
/// <param name="Key">The configuration key that named it (<c>Http:ApiTokenFile</c>), for messages.</param>
public sealed record SecretReference(string? Variable, string? File, string Key)
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static SecretReference FromVariable(string variable, string key = "") => new(variable, null, key);

    /// <summary>Two references are equal when they read the same secret, whichever key named it.</summary>
    public bool Equals(SecretReference? other) =>
        other is not null && string.Equals(Variable, other.Variable, StringComparison.Ordinal) && string.Equals(File, other.File, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Variable, File);

    public static SecretReference FromFile(string path, string key = "") => new(null, Path.GetFullPath(path), key);

    /// <summary>For people: <c>the environment variable CIRUNNER_API_TOKEN (Http:ApiTokenVariable)</c> or <c>the file /etc/cirunner/token (Http:ApiTokenFile)</c>.</summary>
    public string Describe()
    {
        string where = File is null ? $"the environment variable {Variable}" : $"the file {File}";
        return Key.Length == 0 ? where : $"{where} ({Key})";
    }

    /// <summary>The secret, or null when the variable is unset or empty, or the file is missing, unreadable or empty.</summary>
    /// <param name="getEnvironmentVariable">Reads a variable; the process environment by default.</param>
    public string? Read(Func<string, string?>? getEnvironmentVariable = null)
    {
        if (File is null)
        {
            string? value = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)(Variable!);
            return string.IsNullOrEmpty(value) ? null : value;
        }

        try
        {
            // `echo token > file` leaves a newline that is not part of the secret.
            string text = System.IO.File.ReadAllText(File).TrimEnd('\r', '\n');
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Replaces the secret's value in <paramref name="text"/> by <c>***</c> (for error texts of libraries that may quote it).</summary>
    public string Redact(string text, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        string? secret = Read(getEnvironmentVariable);
        return secret is { Length: >= 4 } ? text.Replace(secret, "***", StringComparison.Ordinal) : text;
    }

    /// <summary>
    /// What is wrong with a secret file, or null when it is fine: it must exist, be a regular file, and on Unix belong to
    /// the user the service runs as and be closed to group and others (mode 0600 or 0400). The text names the fix.
    /// </summary>
    public static string? CheckFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full) || !System.IO.File.Exists(full))
        {
            return $"an existing file that holds the secret ({full} {(Directory.Exists(full) ? "is a directory" : "does not exist")})";
        }

        if (OperatingSystem.IsWindows())
        {
            // NTFS permissions are the administrator's business; the file is just read.
            return null;
        }

        UnixFileMode mode = System.IO.File.GetUnixFileMode(full);
        if ((mode & GroupOrOthers) != 0)
        {
            return $"a file only its owner can read (its mode is {Octal(mode)}, so group or others can read it: chmod 600 {full})";
        }

        if (UnixOwner.Of(full) is { } owner && UnixOwner.EffectiveUserId() is { } user && owner != user)
        {
            return string.Create(CultureInfo.InvariantCulture, $"a file owned by the user the service runs as, uid {user} (it belongs to uid {owner}: chown {user} {full})");
        }

        return null;
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');

    /// <summary>The owner of a file and the process's user, through statx(2) and geteuid(2) (the BCL has no owner API).</summary>
    private static class UnixOwner
    {
        private const int CurrentDirectory = -100;
        private const uint StatxUid = 0x0008;

        public static uint? EffectiveUserId()
        {
            try
            {
                return OperatingSystem.IsLinux() ? NativeMethods.geteuid() : null;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
        }

        public static uint? Of(string path)
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }

            try
            {
                // An old kernel or C library without statx: the mode check above still holds.
                return NativeMethods.statx(CurrentDirectory, path, 0, StatxUid, out Statx buffer) == 0 && (buffer.Mask & StatxUid) != 0 ? buffer.Uid : null;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>The start of <c>struct statx</c>, whose layout is the same on every Linux architecture (256 bytes).</summary>
        [StructLayout(LayoutKind.Sequential, Size = 256)]
        private struct Statx
        {
            public uint Mask;
            public uint BlockSize;
            public ulong Attributes;
            public uint LinkCount;
            public uint Uid;
            public uint Gid;
            public ushort Mode;
        }

        private static class NativeMethods
        {
            [DllImport("libc", SetLastError = true)]
            [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
            public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out Statx buffer);

            [DllImport("libc")]
            [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
            public static extern uint geteuid();
        }
    }
}
