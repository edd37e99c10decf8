using System.Globalization;
using System.Runtime.InteropServices;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>
/// Reads the secrets a <see cref="SecretReference"/> points at and checks secret files: the one place a secret's value
/// is read, at the edge with the rest of the configuration's file reading.
/// </summary>
public static class SecretValues
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>The secret, or null when the variable is unset or empty, or the file is missing, unreadable or empty.</summary>
    /// <param name="reference">Where the secret lives.</param>
    /// <param name="getEnvironmentVariable">Reads a variable; the process environment by default.</param>
    public static string? Read(this SecretReference reference, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.File is null)
        {
            string? value = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)(reference.Variable!);
            return string.IsNullOrEmpty(value) ? null : value;
        }

        try
        {
            // `echo token > file` leaves a newline that is not part of the secret.
            string text = File.ReadAllText(reference.File).TrimEnd('\r', '\n');
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Replaces the secret's value in <paramref name="text"/> by <c>***</c> (for error texts of libraries that may quote it).</summary>
    public static string Redact(this SecretReference reference, string text, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        string? secret = reference.Read(getEnvironmentVariable);
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
        if (Directory.Exists(full) || !File.Exists(full))
        {
            return $"an existing file that holds the secret ({full} {(Directory.Exists(full) ? "is a directory" : "does not exist")})";
        }

        if (OperatingSystem.IsWindows())
        {
            // NTFS permissions are the administrator's business; the file is just read.
            return null;
        }

        UnixFileMode mode = File.GetUnixFileMode(full);
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

    /// <summary>The login, or null when either part is unset.</summary>
    public static (string Username, string Password)? Read(this ModuleCredentials credentials, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        string? username = credentials.Username.Read(getEnvironmentVariable);
        string? password = credentials.Password.Read(getEnvironmentVariable);
        return username is null || password is null ? null : (username, password);
    }

    /// <summary>The text with the password replaced by <c>***</c>, in case a library quotes it.</summary>
    public static string Redact(this ModuleCredentials credentials, string text)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return credentials.Password.Redact(text);
    }
}
