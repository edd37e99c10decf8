using System.Globalization;
using CiRunner.Configuration;

namespace CiRunner.Reporting;

/// <summary>
/// Links in reports, on <c>Http:PublicUrl</c>: the address reviewers and receivers reach, not the bind address.
/// The pages behind them are the dashboard's (open unless <c>Http:ProtectReads</c>).
/// </summary>
public sealed class ReportLinks
{
    private readonly string _baseUrl;

    public ReportLinks(HttpOptions http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _baseUrl = (http.PublicUrl ?? ConfigurationLoader.DerivePublicUrl(http.Listen)).TrimEnd('/');
    }

    /// <summary>The run's page: its jobs and their results.</summary>
    public string Run(long runId) => string.Create(CultureInfo.InvariantCulture, $"{_baseUrl}/runs/{runId}");

    /// <summary>The job's page: result, steps, and the end of its log, with a link to the whole log.</summary>
    public string Job(long jobId) => string.Create(CultureInfo.InvariantCulture, $"{_baseUrl}/jobs/{jobId}");

    /// <summary>The job's whole log as text.</summary>
    public string JobLog(long jobId) => string.Create(CultureInfo.InvariantCulture, $"{_baseUrl}/jobs/{jobId}/log");
}
