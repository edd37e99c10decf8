using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace CiRunner.Execution;

/// <summary>
/// Reads a Tempest run's results as <c>subunit2junitxml</c> (Debian's <c>subunit</c> with <c>python3-junitxml</c>) writes
/// them from <c>stestr last --subunit</c> (pure: text in, values out). Checked on Tempest 33 (Debian 12) and 43
/// (Debian 13): one <c>&lt;testcase&gt;</c> per test with <c>classname</c>, <c>name</c> and <c>time</c>; a failure or
/// error holds the traceback, a skip its reason; a class that failed or was skipped in <c>setUpClass</c> has an empty
/// classname and the name <c>setUpClass (module.Class)</c>.
/// </summary>
public static class TempestResultParser
{
    /// <summary>A failure's traceback is kept up to this many characters (its end: where the exception is).</summary>
    public const int MaxTracebackLength = 64 * 1024;

    /// <summary>Every test in document order.</summary>
    /// <exception cref="FormatException">The text is not XML, or not JUnit test cases.</exception>
    public static IReadOnlyList<TempestTestResult> Parse(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        XDocument document;
        try
        {
            // DTDs are refused (the default): the file comes out of a job container.
            document = XDocument.Parse(xml);
        }
        catch (XmlException ex)
        {
            throw new FormatException($"Tempest's results are not valid XML: {ex.Message}", ex);
        }

        if (document.Root?.Name.LocalName is not ("testsuite" or "testsuites"))
        {
            throw new FormatException($"Tempest's results have no <testsuite> (the root is <{document.Root?.Name.LocalName}>).");
        }

        var tests = new List<TempestTestResult>();
        foreach (XElement testCase in document.Descendants("testcase"))
        {
            string className = (string?)testCase.Attribute("classname") ?? "";
            string name = (string?)testCase.Attribute("name") ?? "";
            string id = className.Length == 0 ? name : $"{className}.{name}";
            if (className.Length == 0)
            {
                className = ClassOfFixture(name) ?? "";
            }

            TimeSpan duration = double.TryParse((string?)testCase.Attribute("time"), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0
                ? TimeSpan.FromSeconds(seconds)
                : TimeSpan.Zero;
            XElement? failure = testCase.Element("failure") ?? testCase.Element("error");
            XElement? skipped = testCase.Element("skipped") ?? testCase.Element("skip");
            if (failure is not null)
            {
                string traceback = failure.Value.Trim('\n');
                tests.Add(new TempestTestResult(id, className, TempestTestStatus.Failed, duration, Cap(traceback.Length > 0 ? traceback : (string?)failure.Attribute("message") ?? "(no traceback)"), null));
            }
            else if (skipped is not null)
            {
                string reason = skipped.Value.Trim();
                tests.Add(new TempestTestResult(id, className, TempestTestStatus.Skipped, duration, null, reason.Length > 0 ? reason : (string?)skipped.Attribute("message") ?? ""));
            }
            else
            {
                tests.Add(new TempestTestResult(id, className, TempestTestStatus.Passed, duration, null, null));
            }
        }

        return tests;
    }

    /// <summary><c>setUpClass (tempest.api.x.Class)</c> names its class in parentheses.</summary>
    private static string? ClassOfFixture(string name)
    {
        int open = name.IndexOf('(', StringComparison.Ordinal);
        return open > 0 && name.EndsWith(')') ? name[(open + 1)..^1] : null;
    }

    private static string Cap(string traceback) =>
        traceback.Length <= MaxTracebackLength
            ? traceback
            : $"[... {traceback.Length - MaxTracebackLength} characters cut ...]\n" + traceback[^MaxTracebackLength..];
}
