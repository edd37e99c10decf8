using System.Text.RegularExpressions;
using Quartz;

namespace CiRunner.Configuration;

/// <summary>What a configuration value of each kind may hold: the predicates the option rules and the loader share.</summary>
internal static partial class OptionValues
{
    public const string EnvironmentVariableExpected = "an environment variable name (letters, digits and _, not starting with a digit)";

    // Linux capability names (capabilities(7)); Docker refuses a container with any other.
    private static readonly HashSet<string> _capabilities = new(StringComparer.Ordinal)
    {
        "ALL", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
        "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
        "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
        "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    };

    public static bool IsPath(string value)
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

    public static bool IsDockerEndpoint(string value)
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

    public static bool IsListenUrl(string value)
    {
        // Kestrel's "any address" hosts are not valid URI hosts; check the rest of the URL with a stand-in.
        string candidate = value.Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal);
        return Uri.TryCreate(candidate, UriKind.Absolute, out Uri? uri)
            && uri.Scheme is "http" or "https"
            && uri.Host.Length > 0
            && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            && uri.UserInfo.Length == 0;
    }

    public static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? uri)
        && uri.Scheme is "http" or "https"
        && uri.Host.Length > 0
        && uri.UserInfo.Length == 0
        && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment);

    public static bool IsEnvironmentVariableName(string value) => EnvironmentVariableName().IsMatch(value);

    public static bool IsCapability(string name) => _capabilities.Contains(CapabilityName(name));

    /// <summary><c>cap_net_raw</c> and <c>NET_RAW</c> both name <c>NET_RAW</c>.</summary>
    public static string CapabilityName(string name)
    {
        string upper = name.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }

    /// <summary>Why Quartz refuses <paramref name="cron"/>; null when it accepts it.</summary>
    public static string? CronProblem(string cron)
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

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentVariableName();
}
