using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>
/// How a job container boots systemd as PID 1 without privileges, as Puppet Litmus' images and a node do: <c>/run</c>
/// and <c>/run/lock</c> on tmpfs, <c>container=docker</c> so systemd knows where it runs, and the cgroup tree it
/// manages units in. On a cgroup v1 host that is the host's <c>/sys/fs/cgroup</c> read-only (systemd writes only below
/// its own <c>name=systemd</c> hierarchy, which Docker delegates to the container); on a cgroup v2 host the container
/// gets a private cgroup namespace instead. Also the shell function that waits, bounded, until systemd is up.
/// </summary>
public static class SystemdContainer
{
    /// <summary>What the container runs as PID 1 (systemd-sysv's link to systemd).</summary>
    public const string InitPath = "/sbin/init";

    /// <summary>How often the boot wait asks systemd for its state.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The engine's cgroup version ("1" or "2"), from <c>GET /info</c>; "1" when the engine does not say (Docker before 20.10).</summary>
    public static async Task<string> CgroupVersionAsync(IDockerClient docker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(docker);
        SystemInfoResponse info = await docker.System.GetSystemInfoAsync(cancellationToken);
        return string.IsNullOrEmpty(info.CgroupVersion) ? "1" : info.CgroupVersion;
    }

    /// <summary>Sets what booting systemd needs on a container that is otherwise configured as any job's.</summary>
    public static void Configure(CreateContainerParameters parameters, string cgroupVersion)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Entrypoint = [InitPath];
        parameters.Cmd = [];
        parameters.Env = [.. parameters.Env ?? [], "container=docker"];
        HostConfig host = parameters.HostConfig ??= new HostConfig();
        host.Tmpfs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["/run"] = "rw,nosuid,nodev,exec,mode=755",
            ["/run/lock"] = "rw,nosuid,nodev,noexec,mode=1777",
        };
        if (cgroupVersion == "2")
        {
            // A private cgroup namespace: systemd sees its own subtree as the root and may create units below it.
            host.CgroupnsMode = "private";
        }
        else
        {
            host.Binds = [.. host.Binds ?? [], "/sys/fs/cgroup:/sys/fs/cgroup:ro"];
        }
    }

    /// <summary>
    /// A POSIX sh function <c>boot</c> that waits until <c>systemctl is-system-running</c> says <c>running</c> or
    /// <c>degraded</c>, at most <paramref name="timeout"/>; prints the state, the failed units when degraded, and the
    /// journal's tail when systemd did not come up; then sets <c>boot_rc</c> (0 up, 1 not).
    /// </summary>
    public static string BootFunction(TimeSpan timeout)
    {
        int tries = Math.Max(1, (int)Math.Ceiling(timeout / PollInterval));
        string interval = PollInterval.TotalSeconds.ToString("0.0##", CultureInfo.InvariantCulture);

        // The bus is not there for the first few hundred milliseconds ("Failed to connect to bus"): an empty state
        // means "not yet", like initializing and starting. So does offline while PID 1 is systemd: systemctl says
        // offline until systemd has made /run/systemd/system, which a loaded machine shows for seconds (a job failed
        // at its first check that way). offline under another PID 1, maintenance and stopping will not get better.
        return "boot() { i=0; boot_rc=1; while :; do state=$(systemctl is-system-running 2>/dev/null); " +
            "case \"$state\" in running|degraded) boot_rc=0; break ;; initializing|starting|unknown|'') ;; " +
            "offline) [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ] || break ;; *) break ;; esac; " +
            $"i=$((i+1)); [ \"$i\" -ge {tries.ToString(CultureInfo.InvariantCulture)} ] && break; sleep {interval}; done; " +
            "echo \"systemd: ${state:-no answer}\"; " +
            "if [ \"$state\" = degraded ]; then systemctl --failed --no-pager --plain --no-legend 2>&1; fi; " +
            "if [ \"$boot_rc\" -ne 0 ]; then echo 'journal (last 40 lines):'; journalctl -b --no-pager -n 40 2>&1 || dmesg 2>&1 | tail -n 20; fi; }\n";
    }
}
