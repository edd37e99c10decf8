using System.Text;
using System.Xml;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Reporting;

/// <summary>
/// Writes <c>&lt;DataDirectory&gt;/reports/&lt;run-id&gt;/junit.xml</c> for every finished run (served at
/// <c>GET /api/runs/{id}/junit.xml</c>). Written to a temporary file and moved into place, so a reader never sees
/// half a file and writing it again replaces it whole.
/// </summary>
public sealed class JUnitReporter : IRunReporter
{
    /// <summary>The end of each log that goes into a failure: enough to see why, small enough for a CI's test view.</summary>
    private const int TailLines = 60;
    private const int TailBytes = 16 * 1024;

    private readonly DataPaths _paths;
    private readonly ReportLinks _links;

    public JUnitReporter(DataPaths paths, ReportLinks links)
    {
        _paths = paths;
        _links = links;
    }

    public string Name => "junit";

    public bool AppliesTo(RunRecord run) => true;

    public async Task<ReportOutcome> ReportAsync(FinishedRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var tails = new Dictionary<long, string>();
        foreach (ReportedCell cell in run.Cells.Where(c => c.Result != JobResult.Success))
        {
            tails[cell.Job.Id] = await LogTail.ReadAsync(cell.LogFile, TailLines, TailBytes, cancellationToken);
        }

        System.Xml.Linq.XDocument document = JUnitReport.Build(run, tails, _links, System.Net.Dns.GetHostName());
        string file = _paths.JUnitFile(run.Run.Id);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            string temporary = file + ".tmp";
            var settings = new XmlWriterSettings { Async = true, Indent = true, Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false) };
            await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            await using (var writer = XmlWriter.Create(stream, settings))
            {
                await document.SaveAsync(writer, cancellationToken);
            }

            File.Move(temporary, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk or a permission problem may pass; the outbox tries again later.
            return ReportOutcome.Retry($"Could not write {file}: {e.Message}");
        }

        return ReportOutcome.Sent($"{file} ({run.Cells.Count + run.Cells.Sum(c => c.TempestTests.Count)} test cases)");
    }
}
