namespace CiRunner.Model;

/// <summary>One test of a tempest step's run.</summary>
/// <param name="TestId">
/// Tempest's id: <c>tempest.api.identity.v3.test_domains.DefaultDomainTestJSON.test_default_domain_exists[id-17a5de24-...,smoke]</c>,
/// or <c>setUpClass (tempest.api.image.v2.test_versions.VersionsTest)</c> for a class that failed or was skipped as a whole.
/// </param>
/// <param name="ClassName">The test class (<c>tempest.api.image.v2.test_versions.VersionsTest</c>).</param>
/// <param name="Status">Passed, failed or skipped.</param>
/// <param name="Duration">As Tempest measured it.</param>
/// <param name="Traceback">A failed test's traceback (the log it captured first, then Python's traceback); null otherwise.</param>
/// <param name="SkipReason">Why a skipped test was skipped; null otherwise.</param>
public sealed record TempestTestResult(string TestId, string ClassName, TempestTestStatus Status, TimeSpan Duration, string? Traceback, string? SkipReason)
{
    /// <summary>The id without its attributes (<c>[id-...,smoke]</c>): what people call the test.</summary>
    public string ShortName => TempestText.WithoutAttributes(TestId);

    /// <summary>The exception a failed test ended with (<c>tempest.lib.exceptions.BadRequest: Bad request</c>), when the traceback says.</summary>
    public string? FailureLine => Traceback is null ? null : TempestText.FailureLine(Traceback);
}

/// <summary>How people read a Tempest test's id and traceback; shared by the parser, the store and every page.</summary>
public static class TempestText
{
    /// <summary><c>test_x[id-...,smoke]</c> without the attributes in brackets.</summary>
    public static string WithoutAttributes(string testId)
    {
        ArgumentNullException.ThrowIfNull(testId);
        int bracket = testId.IndexOf('[', StringComparison.Ordinal);
        return bracket > 0 && testId.EndsWith(']') ? testId[..bracket] : testId;
    }

    /// <summary>
    /// The line naming the exception at the end of a Python traceback (the first unindented line after the last
    /// <c>Traceback (most recent call last):</c>); else the traceback's last non-empty line.
    /// </summary>
    public static string? FailureLine(string traceback)
    {
        ArgumentNullException.ThrowIfNull(traceback);
        string[] lines = traceback.ReplaceLineEndings("\n").Split('\n');
        int start = Array.FindLastIndex(lines, l => l.StartsWith("Traceback (most recent call last):", StringComparison.Ordinal));
        if (start >= 0)
        {
            string? line = lines.Skip(start + 1).FirstOrDefault(l => l.Length > 0 && !char.IsWhiteSpace(l[0]));
            if (line is not null)
            {
                return line;
            }
        }

        return lines.LastOrDefault(l => l.Trim().Length > 0)?.Trim();
    }

    /// <summary>
    /// The Python traceback of a failure without the log lines the test captured before it (what a terminal needs);
    /// the whole text when it has no traceback.
    /// </summary>
    public static string PythonTraceback(string traceback)
    {
        ArgumentNullException.ThrowIfNull(traceback);
        int start = traceback.IndexOf("Traceback (most recent call last):", StringComparison.Ordinal);
        return start > 0 ? traceback[start..] : traceback;
    }
}
