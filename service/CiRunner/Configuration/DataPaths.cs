namespace CiRunner.Configuration;

/// <summary>Where things live under the data directory; the one place that knows the layout.</summary>
public sealed class DataPaths
{
    public DataPaths(string dataDirectory)
    {
        Root = Path.GetFullPath(dataDirectory);
    }

    public string Root { get; }

    public string DatabaseFile => Path.Combine(Root, "cirunner.db");

    /// <summary>Bare git mirrors, one per module.</summary>
    public string MirrorsDirectory => Path.Combine(Root, "mirrors");

    /// <summary>Job logs, <c>logs/&lt;run-id&gt;/&lt;job-id&gt;.log</c>.</summary>
    public string LogsDirectory => Path.Combine(Root, "logs");

    /// <summary>Reports written per run, <c>reports/&lt;run-id&gt;/junit.xml</c>.</summary>
    public string ReportsDirectory => Path.Combine(Root, "reports");

    public string JUnitFile(long runId) =>
        Path.Combine(ReportsDirectory, runId.ToString(System.Globalization.CultureInfo.InvariantCulture), "junit.xml");

    public string JobLogFile(long runId, long jobId) =>
        Path.Combine(LogsDirectory, runId.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{jobId}.log");
}
