using System.Globalization;
using CiRunner.Matrix;

namespace CiRunner.Configuration;

/// <summary>Renders load results for people: errors one per line (stderr), or the summary that <c>validate</c> prints.</summary>
public static class ConfigurationReport
{
    /// <summary>Every error, one line each, file names relative to the configuration file's folder.</summary>
    public static void WriteErrors(TextWriter writer, ConfigurationLoadResult result)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        foreach (ConfigurationError error in result.Errors)
        {
            writer.WriteLine(error.Format(result.BaseDirectory));
        }
    }

    /// <summary>
    /// Docker engines, modules, releases in upgrade order, scenarios, and cells per module and branch.
    /// <paramref name="getEnvironmentVariable"/> only tells whether credential variables are set; values are never printed.
    /// </summary>
    public static void WriteSummary(TextWriter writer, CiRunnerSettings settings, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(settings);
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        string Set(string variable) => string.IsNullOrEmpty(getEnvironmentVariable(variable)) ? "not set" : "set";

        writer.WriteLine($"{settings.ConfigFile}: valid");
        writer.WriteLine($"  data        {settings.Service.DataDirectory}");
        writer.WriteLine($"  scenarios   {settings.Service.ScenariosDirectory}");
        DockerOptions docker = settings.Docker;
        string engines = docker.Engines.Count == 0
            ? Invariant($"{docker.Endpoint}, {docker.ParallelJobs} parallel jobs")
            : Invariant($"{docker.Engines.Count} engines (below), cirunner run {docker.ParallelJobs} parallel jobs");
        writer.WriteLine(Invariant($"  docker      {engines}; per job {docker.MemoryMb} MiB, CPUs {docker.Cpus}, pids {docker.PidsLimit}, network {docker.NetworkMode}, job timeout {Duration.Format(docker.JobTimeout)}"));
        writer.WriteLine($"  schedule    poll every {Duration.Format(settings.Schedule.PollInterval)}, nightly '{settings.Schedule.NightlyCron}'{(settings.Schedule.NightlySkipUnchanged ? ", skipping unchanged branches" : "")}");
        string Source(SecretReference secret) => secret.File is { } file ? $"file {file}" : $"${secret.Variable} ({Set(secret.Variable!)})";
        writer.WriteLine($"  http        {settings.Http.Listen}, API token from {Source(settings.Http.ApiToken)}");
        writer.WriteLine(settings.Store.IsPostgreSql
            ? $"  store       postgresql, connection string from {Source(settings.Store.ConnectionString)}; Quartz clustered in the same database"
            : $"  store       sqlite, {settings.DataPaths.DatabaseFile}");
        ReportingOptions reporting = settings.Reporting;
        IEnumerable<string> webhooks = reporting.Webhooks.Select(w => w.Secret is { } secret ? $"{w.Name} (signed, secret from {Source(secret)})" : $"{w.Name} (unsigned)");
        writer.WriteLine($"  reporting   links to {settings.Http.PublicUrl}; JUnit {(reporting.JUnit ? "on" : "off")}; webhooks: {(reporting.Webhooks.Count == 0 ? "none" : string.Join(", ", webhooks))}");
        if (settings.Gerrit is { } gerrit)
        {
            string voting = gerrit.Voting ? $"voting {gerrit.Label}" : "comment only";
            writer.WriteLine($"  gerrit      {gerrit.Url} as '{gerrit.CiName}', {voting}, login {Source(gerrit.Username)} / {Source(gerrit.Password)}, recheck read every {Duration.Format(gerrit.RecheckInterval)}");
        }

        writer.WriteLine();

        // The pool as the service runs it: without Docker:Engines, the one engine named default.
        IReadOnlyList<EngineOptions> pool = docker.Pool();
        writer.WriteLine(Invariant($"Docker engines ({pool.Count}):"));
        WriteTable(writer, pool.Select(e => new[]
        {
            e.Name,
            e.Endpoint,
            e.TlsCertDirectory is null ? "TLS: no" : "TLS: yes",
            Invariant($"capacity {e.Capacity}"),
            "releases: " + (e.Releases.Count == 0 ? "all" : string.Join(", ", e.Releases)),
        }));
        writer.WriteLine();

        writer.WriteLine($"Modules ({settings.Modules.Count}):");
        WriteTable(writer, settings.Modules.Select(m => new[]
        {
            m.Name,
            m.Url,
            string.Join(", ", m.Branches),
            m.Credentials is { } c ? $"login from {Source(c.Username)} / {Source(c.Password)}" : "",
        }));
        writer.WriteLine();

        writer.WriteLine($"Releases in upgrade order, oldest first ({settings.Releases.Count}):");
        WriteTable(writer, settings.Releases.Select(r => new[]
        {
            Invariant($"{r.Order + 1}."),
            r.Name,
            r.IsDevelopment ? "development" : r.IsSlurp ? "SLURP" : "",
            r.Image,
            string.Join(", ", r.BranchCandidates),
            Invariant($"{r.Puppetfile.Modules.Count} modules"),
            r.Suite + (r.Init == InitSystem.Systemd ? ", init systemd" : "") + (r.PackageSnapshot ? ", package snapshot" : ""),
            r.UpgradePrepareCommand.Count > 0 ? "prepare: " + string.Join(' ', r.UpgradePrepareCommand) : "",
        }));
        writer.WriteLine();

        writer.WriteLine($"Scenarios ({settings.Scenarios.Count}):");
        WriteTable(writer, settings.Scenarios.Select(s => new[]
        {
            s.Name,
            "releases: " + (s.Releases.Count == 0 ? "all" : string.Join(", ", s.Releases)),
            s.Upgrade ? "upgrade" : "no upgrade",
            "steps: " + string.Join(", ", s.Steps.Select(step => step.Kind.ToWire()))
                + (s.Seed.Count > 0 ? Invariant($"; seed {s.Seed.Count}") : "")
                + (s.Verify.Count > 0 ? Invariant($"; verify {s.Verify.Count}") : "")
                + (s.Network is { } network ? $"; network {network}" : ""),
            "modules: " + string.Join(", ", s.Modules),
        }));
        foreach (Scenario parsedOnly in settings.Scenarios.Where(s => !s.Runnable))
        {
            writer.WriteLine($"  {parsedOnly.Name}: parsed and checked only, no cells (parsed-only):");
            foreach (string reason in parsedOnly.ParsedOnly)
            {
                writer.WriteLine($"    - {reason}");
            }
        }

        writer.WriteLine();

        IReadOnlyList<BranchCellCount> counts = CellCounter.CountByModuleBranch(settings.Modules, settings.Releases, settings.Scenarios, settings.Matrix);
        writer.WriteLine("Cells a commit on each module branch runs (Matrix rules applied; cirunner matrix lists them):");
        WriteTable(writer, counts.Select(c => new[]
        {
            c.Module,
            c.Branch ?? "(no tracked branch)",
            string.Join(", ", c.Releases),
            c.Branch is null ? "no cells" : Cells(c.Cells),
            c.Branch is null ? "" : Kinds(c.Deploy, c.Upgrade, c.Rollback, c.Compatibility),
        }));
        writer.WriteLine($"Total: {Cells(counts.Sum(c => c.Cells))}: {Kinds(counts.Sum(c => c.Deploy), counts.Sum(c => c.Upgrade), counts.Sum(c => c.Rollback), counts.Sum(c => c.Compatibility))}");
    }

    private static string Kinds(int deploy, int upgrade, int rollback, int compatibility) =>
        Invariant($"{deploy} deploy, {upgrade} upgrade, {rollback} rollback, {compatibility} compatibility");

    private static string Cells(int count) => count == 1 ? "1 cell" : Invariant($"{count} cells");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void WriteTable(TextWriter writer, IEnumerable<string[]> rows)
    {
        List<string[]> all = rows.ToList();
        if (all.Count == 0)
        {
            writer.WriteLine("  (none)");
            return;
        }

        int columns = all.Max(r => r.Length);
        int[] widths = Enumerable.Range(0, columns).Select(c => all.Max(r => c < r.Length ? r[c].Length : 0)).ToArray();
        foreach (string[] row in all)
        {
            IEnumerable<string> cells = row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]));
            writer.WriteLine(("  " + string.Join("  ", cells)).TrimEnd());
        }
    }
}
